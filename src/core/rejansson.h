/* rejansson: <re.h> and <jansson.h> in one translation unit. Both define
 * JSON_STRING and JSON_NULL (libre's re_json.h, which tamas does not use, and
 * jansson's json_type), so libre's two are renamed while <re.h> is read.
 * Include this first in a .c that needs both, before anything that pulls
 * in <re.h>. Headers that only pass json_t around need neither: they can say
 * `typedef struct json_t json_t;` (a repeated identical typedef is valid C11). */
#ifndef TAMAS_CORE_REJANSSON_H
#define TAMAS_CORE_REJANSSON_H

#ifdef RE_H__
#error "core/rejansson.h must be included before <re.h>"
#endif
#define JSON_STRING RE_JSON_STRING
#define JSON_NULL RE_JSON_NULL
#include <re.h>
#undef JSON_STRING
#undef JSON_NULL
#include <jansson.h>

#endif
