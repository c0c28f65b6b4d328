/* causes: the two tables of chan_pjsip, kept as switch statements. */
#include "sip/causes.h"

uint16_t causes_to_sip(int cause, const char **reason)
{
	uint16_t sc;
	const char *r;

	switch (cause) {
	case 1: case 2: case 3: sc = 404; r = "Not Found"; break;
	case 17: sc = 486; r = "Busy Here"; break;
	case 18: sc = 408; r = "Request Timeout"; break;
	case 19: case 20: case 31: sc = 480; r = "Temporarily Unavailable"; break;
	case 21: sc = 403; r = "Forbidden"; break;
	case 22: sc = 410; r = "Gone"; break;
	case 23: sc = 302; r = "Moved Temporarily"; break;
	case 27: sc = 502; r = "Bad Gateway"; break;
	case 28: sc = 484; r = "Address Incomplete"; break;
	case 29: sc = 501; r = "Not Implemented"; break;
	case 34: case 42: case 66: sc = 503; r = "Service Unavailable"; break;
	case 38: case 127: sc = 500; r = "Server Internal Error"; break;
	case 58: sc = 488; r = "Not Acceptable Here"; break;
	default: sc = 603; r = "Decline"; break;
	}
	if (reason)
		*reason = r;
	return sc;
}

int causes_from_sip(uint16_t sc)
{
	switch (sc) {
	case 302: return 23;
	case 401: case 403: case 407: return 21;
	case 404: case 485: case 604: return 1;
	case 405: case 411: case 413: case 414: case 415: case 481: case 482:
	case 487: case 491: case 493: case 505: return 127;
	case 408: return 18;
	case 409: return 41;
	case 410: return 22;
	case 420: return 3;
	case 480: case 483: return 19;
	case 484: return 28;
	case 486: case 600: return 17;
	case 488: case 606: return 58;
	case 500: return 38;
	case 501: return 29;
	case 502: return 27;
	case 503: return 34;
	case 504: return 102;
	case 603: return 21;
	default: break;
	}
	if (sc >= 400 && sc < 500)
		return 127;
	if (sc >= 500 && sc < 600)
		return 34;
	if (sc >= 600 && sc < 700)
		return 127;
	return 16;
}
