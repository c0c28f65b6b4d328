/* features: applicationmap parsing and the DTMF detector of a bridged pair
 * (exact codes fire at once, prefixes wait, other digits reach the peer). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <re.h>
#include "pbx/app.h"
#include "pbx/chan.h"
#include "pbx/features.h"

static char probe_data[128], sent[32];
static unsigned probe_calls;
static struct chan *probe_chan;

static int probe_exec(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	str_ncpy(probe_data, data, sizeof(probe_data));
	probe_chan = ch;
	probe_calls++;
	doneh(APP_OK, arg);
	return 0;
}

static int send_dtmf(struct chan *ch, char digit, uint32_t ms)
{
	size_t n = strlen(sent);
	(void)ch;
	(void)ms;
	if (n + 1 < sizeof(sent))
		sent[n] = digit;
	return 0;
}

static const struct chan_tech tech = { .name = "Test", .send_dtmf = send_dtmf };
static const struct features_conf conf = {
	.digit_timeout_ms = 50, .transfer_digit_timeout_s = 1,
	.blindxfer = "#", .disconnect = "*", .automixmon = "*3",
	.xfersound = "beep", .xferfailsound = "beeperr", .transferannouncesound = "",
};

static void cdr_h(const struct cdr_rec *rec, void *arg)
{
	(void)rec;
	(void)arg;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(libre_init(), 0);
	chan_init(cdr_h, NULL);
	features_init(&conf, NULL);
	assert_int_equal(app_register("Probe", probe_exec), 0);
	probe_calls = 0;
	probe_chan = NULL;
	memset(probe_data, 0, sizeof(probe_data));
	memset(sent, 0, sizeof(sent));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	features_close();
	app_unregister_all();
	chan_close();
	libre_close();
	return 0;
}

static void test_applicationmap_forms_and_errors(void **state)
{
	char err[128];
	(void)state;

	assert_int_equal(features_map_add("a", "#1,self,Probe(x^y)", err, sizeof(err)), 0);
	assert_int_equal(features_map_add("b", "*9,peer/callee,Probe,z,default", err,
					  sizeof(err)), 0);
	assert_int_equal(features_map_add("c", "#,self,Gosub(customTransfer,#,1)", err,
					  sizeof(err)), 0);
	assert_int_equal(features_map_add("d", "#2,sideways,Probe(x)", err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "self or peer"));
	assert_int_equal(features_map_add("e", "#3", err, sizeof(err)), EINVAL);
	assert_int_equal(features_map_add("f", ",self,Probe", err, sizeof(err)), EINVAL);
	assert_int_equal(features_map_add("g", "12345678901234567,self,Probe", err, sizeof(err)),
			 EINVAL);
}

static void pair(struct chan **a, struct chan **b)
{
	assert_int_equal(chan_alloc(a, &tech, NULL, "1001", NULL), 0);
	assert_int_equal(chan_alloc(b, &tech, NULL, "1002", NULL), 0);
	assert_int_equal(chan_bridge(*a, *b), 0);
}

static void test_dynamic_feature_runs_on_self_and_peer(void **state)
{
	struct chan *a, *b;
	struct fbridge *fb = NULL;
	char err[128];
	(void)state;

	assert_int_equal(features_map_add("mine", "#1,self,Probe(hello)", err, sizeof(err)), 0);
	assert_int_equal(features_map_add("theirs", "*9,peer,Probe(there)", err, sizeof(err)), 0);
	pair(&a, &b);
	assert_int_equal(chan_var_set(b, "DYNAMIC_FEATURES", "mine#theirs"), 0);
	assert_int_equal(features_attach(&fb, a, b, ""), 0);
	assert_non_null(fb);
	chan_dtmf_received(b, '#', DTMF_SRC_INFO);
	assert_int_equal(probe_calls, 0);             /* "#" alone is only a prefix */
	chan_dtmf_received(b, '1', DTMF_SRC_INFO);
	assert_int_equal(probe_calls, 1);
	assert_ptr_equal(probe_chan, b);
	assert_string_equal(probe_data, "hello");
	assert_string_equal(chan_var_get(b, "DYNAMIC_FEATURENAME"), "mine");
	assert_string_equal(chan_var_get(b, "DYNAMIC_WHO_ACTIVATED"), chan_name(b));
	chan_dtmf_received(b, '*', DTMF_SRC_INFO);
	chan_dtmf_received(b, '9', DTMF_SRC_INFO);
	assert_int_equal(probe_calls, 2);
	assert_ptr_equal(probe_chan, a);              /* peer */
	assert_string_equal(sent, "");                /* nothing leaked to a */
	features_detach(fb);
	chan_unbridge(a);
	mem_deref(a);
	mem_deref(b);
}

static void test_non_feature_digits_reach_the_peer(void **state)
{
	struct chan *a, *b;
	struct fbridge *fb = NULL;
	(void)state;

	pair(&a, &b);
	assert_int_equal(features_attach(&fb, a, b, "h"), 0);   /* callee may disconnect */
	chan_dtmf_received(b, '5', DTMF_SRC_INFO);
	chan_dtmf_received(b, '#', DTMF_SRC_INFO);
	assert_string_equal(sent, "5#");
	chan_dtmf_received(b, '*', DTMF_SRC_INFO);     /* disconnect: b hangs up */
	assert_true(chan_is_hungup(b));
	assert_false(chan_is_hungup(a));
	features_detach(fb);
	mem_deref(a);
	mem_deref(b);
}

static void test_no_features_means_no_detector(void **state)
{
	struct chan *a, *b;
	struct fbridge *fb = (struct fbridge *)1;
	(void)state;

	pair(&a, &b);
	assert_int_equal(features_attach(&fb, a, b, "g"), 0);
	assert_null(fb);
	chan_unbridge(a);
	mem_deref(a);
	mem_deref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_applicationmap_forms_and_errors),
		T(test_dynamic_feature_runs_on_self_and_peer),
		T(test_non_feature_digits_reach_the_peer),
		T(test_no_features_means_no_detector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
