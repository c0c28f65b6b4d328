/* apiform: field readers shared by the routes_* files. */
#include "core/rejansson.h"
#include <errno.h>
#include <string.h>
#include "api/apiform.h"
#include "api/http.h"
#include "core/log.h"

int apiform_text(const struct http_req *req, struct http_reply *rep, const char *name,
		 char *buf, size_t sz)
{
	json_t *v = req->body ? json_object_get(req->body, name) : NULL;

	if (!v || json_is_null(v))
		return 0;
	/* Unlike http_arg_str, "" is a value here: it clears a field. */
	if (json_is_string(v) && !json_string_length(v)) {
		buf[0] = '\0';
		return 1;
	}
	return http_arg_str(req, rep, name, false, buf, sz) ? -1 : 1;
}

int apiform_key(const struct http_req *req, struct http_reply *rep, const char *name,
		char *buf, size_t sz, bool required)
{
	int r = apiform_text(req, rep, name, buf, sz);

	if ((r == 0 && required) || (r == 1 && !buf[0])) {
		http_reply_fail(rep, "Field '%s':value is missing", name);
		return -1;
	}
	return r;
}

int apiform_obj_text(const json_t *obj, const char *name, char *buf, size_t sz, char *why,
		     size_t whysz)
{
	const json_t *v = json_object_get(obj, name);

	buf[0] = '\0';
	if (!v || json_is_null(v))
		return ENOENT;
	if (json_is_integer(v)) {
		(void)re_snprintf(buf, sz, "%lld", (long long)json_integer_value(v));
	}
	else if (json_is_string(v)) {
		if (json_string_length(v) >= sz) {
			(void)re_snprintf(why, whysz, "Field '%s': longer than %zu characters",
					  name, sz - 1);
			return EINVAL;
		}
		str_ncpy(buf, json_string_value(v), sz);
	}
	else {
		(void)re_snprintf(why, whysz, "Field '%s': expected a string", name);
		return EINVAL;
	}
	return buf[0] ? 0 : ENOENT;
}

int apiform_obj_required(const json_t *obj, const char *name, char *buf, size_t sz, char *why,
			 size_t whysz)
{
	int err = apiform_obj_text(obj, name, buf, sz, why, whysz);

	if (err == ENOENT)
		(void)re_snprintf(why, whysz, "Field '%s':value is missing", name);
	return err;
}

bool apiform_charset_ok(const char *s, size_t max, const char *set)
{
	size_t n = strlen(s);

	return n && n <= max && strspn(s, set) == n;
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (n && p && *p) {
		if (!strncmp(p, v, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return false;
}

static bool value_ok(const struct apiform_field *fd, const char *v)
{
	switch (fd->type) {
	case APIFORM_YESNO:  return !strcmp(v, "yes") || !strcmp(v, "no");
	case APIFORM_DIGITS: return !*v || apiform_charset_ok(v, fd->max, "0123456789");
	case APIFORM_CHOICE: return choice_ok(fd->choices, v);
	default:             return true;
	}
}

static void refuse(struct http_reply *rep, const struct apiform_field *fd)
{
	if (fd->type == APIFORM_YESNO)
		http_reply_fail(rep, "Field '%s': expected yes or no", fd->name);
	else if (fd->type == APIFORM_DIGITS)
		http_reply_fail(rep, "Field '%s': expected a number", fd->name);
	else
		http_reply_fail(rep, "Field '%s': expected one of %s", fd->name, fd->choices);
}

int apiform_read_fields(const struct http_req *req, struct http_reply *rep,
			const struct apiform_field *fields, size_t n, json_t *attrs)
{
	char buf[2049];

	for (size_t i = 0; i < n; i++) {
		const struct apiform_field *fd = &fields[i];
		int r = apiform_text(req, rep, fd->name, buf,
				     fd->max + 1 < sizeof(buf) ? fd->max + 1 : sizeof(buf));

		if (r < 0)
			return EINVAL;
		if (r == 0)
			continue;
		if (!value_ok(fd, buf)) {
			refuse(rep, fd);
			return EINVAL;
		}
		(void)json_object_set_new(attrs, fd->name, json_string(buf));
	}
	return 0;
}

void apiform_complete(json_t *attrs, const struct apiform_field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!json_is_string(json_object_get(attrs, fields[i].name)))
			(void)json_object_set_new(attrs, fields[i].name,
						  json_string(fields[i].dflt));
}

int apiform_id(const struct http_req *req, struct http_reply *rep, char *buf, size_t sz)
{
	int err = http_arg_str(req, rep, "_id", false, buf, sz);

	if (err == ENOENT)
		err = http_arg_str(req, rep, "id_", false, buf, sz);
	if (err == ENOENT)
		http_reply_fail(rep, "Field '_id':value is missing");
	return err;
}

int apiform_conditions(const struct http_req *req, struct http_reply *rep,
		       struct http_req *creq)
{
	json_t *cond = req->body ? json_object_get(req->body, "conditions") : NULL;

	*creq = *req;
	creq->body = NULL;
	if (!cond || json_is_null(cond))
		return 0;
	if (!json_is_object(cond)) {
		http_reply_fail(rep, "Field 'conditions': expected an object");
		return EINVAL;
	}
	creq->body = cond;
	return 0;
}

int apiform_page(const struct http_req *req, struct http_reply *rep, struct http_page *pg,
		 const char *const *sorts)
{
	if (http_arg_page(req, rep, pg))
		return EINVAL;
	if (!pg->sort[0])
		return 0;
	for (size_t i = 0; sorts[i]; i++)
		if (!strcmp(pg->sort, sorts[i]))
			return 0;
	http_reply_fail(rep, "Field 'pagination.sorting': cannot sort by '%s'", pg->sort);
	return EINVAL;
}

int apiform_append(json_t *rows, json_t *o)
{
	return o ? json_array_append_new(rows, o) ? ENOMEM : 0 : ENOMEM;
}

void apiform_store_failed(struct http_reply *rep, const char *what, int err)
{
	log_error("api: %s failed in the store: %m", what, err);
	http_reply_error(rep, 500, "Requested operation failed");
}

void apiform_reply_rows(struct http_reply *rep, const char *what, int err,
			const struct http_page *pg, uint64_t total, json_t *rows)
{
	if (err) {
		json_decref(rows);
		apiform_store_failed(rep, what, err);
		return;
	}
	http_reply_ok(rep, "", pg->given ? http_page_data(pg, total, rows) : rows);
}

static bool date_ok(const char *s)
{
	static const char *const shape = "dddd-dd-dd dd:dd:dd";
	size_t n = strlen(s);

	if (n != 10 && n != 16 && n != 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

static int date_arg(const struct http_req *req, struct http_reply *rep, const char *range,
		    const char *name, char *buf, size_t sz)
{
	int err = http_arg_str(req, rep, name, false, buf, sz);

	if (err == ENOENT)
		return 0;
	if (err)
		return err;
	if (!date_ok(buf)) {
		http_reply_fail(rep, "Field '%s.%s': expected YYYY-MM-DD HH:MM", range, name);
		return EINVAL;
	}
	return 0;
}

int apiform_range(const struct http_req *req, struct http_reply *rep, const char *name,
		  bool required, char *from, char *to, size_t sz)
{
	json_t *range = req->body ? json_object_get(req->body, name) : NULL;
	struct http_req dreq = *req;

	from[0] = to[0] = '\0';
	if (!range || json_is_null(range)) {
		if (!required)
			return 0;
		http_reply_fail(rep, "Field '%s':value is missing", name);
		return EINVAL;
	}
	if (!json_is_object(range)) {
		http_reply_fail(rep, "Field '%s': expected an object {from, to}", name);
		return EINVAL;
	}
	dreq.body = range;
	if (date_arg(&dreq, rep, name, "from", from, sz) ||
	    date_arg(&dreq, rep, name, "to", to, sz))
		return EINVAL;
	return 0;
}

int apiform_date_range(const struct http_req *req, struct http_reply *rep, bool required,
		       char *from, char *to, size_t sz)
{
	return apiform_range(req, rep, "date_range", required, from, to, sz);
}
