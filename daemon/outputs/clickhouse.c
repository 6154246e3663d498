/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kernel.h"
#include "outputs/clickhouse.h"
#include "outputs/jsonl.h"
#include "outputs/sqlite_schema.h"

/*
 * A connection is given this long: a server that does not answer its port
 * at all is down, retried with the backoff.
 */
#define CONNECT_TIMEOUT_MS 5000L
/*
 * A request (an INSERT of one batch) is given this long. A request the
 * client gives up on may still be applied by the server, and its resend then
 * doubles the batch: a plain MergeTree in 18.16 has no deduplication of
 * inserts (that is ReplicatedMergeTree's). So the timeout is long: a server
 * paused or busy for less than this finishes the request it has, and it is
 * not resent. A 10000-row flow batch takes 30 ms on localhost (README).
 */
#define REQUEST_TIMEOUT_MS 60000L
/* The server's answer kept for the error text: its `Code: NNN, e.displayText() = ...` line. */
#define RESPONSE_MAX 2048
/* The DDL of the longest table (proto_stats) is ~1.8 KB. */
#define CREATE_TEXT_MAX 4096
#define URL_MAX 2048

/* ClickHouse error codes of a batch the server will never take (ErrorCodes.cpp, 18.16). */
static const long refused_codes[] = {
	6,   /* CANNOT_PARSE_TEXT */
	16,  /* NO_SUCH_COLUMN_IN_TABLE */
	26,  /* CANNOT_PARSE_QUOTED_STRING */
	27,  /* CANNOT_PARSE_INPUT_ASSERTION_FAILED */
	53,  /* TYPE_MISMATCH */
	60,  /* UNKNOWN_TABLE */
	62,  /* SYNTAX_ERROR (of the DDL) */
	69,  /* ARGUMENT_OUT_OF_BOUND */
	70,  /* CANNOT_CONVERT_TYPE */
	72,  /* CANNOT_PARSE_NUMBER */
	81,  /* UNKNOWN_DATABASE */
	117, /* INCORRECT_DATA */
};

/* One record type's table: where its lines go. */
struct destination {
	enum stream_type type;
	char name[2 * CLICKHOUSE_NAME_MAX + 8]; /* `db`.`table`: the delivery's name for it */
	char table[CLICKHOUSE_NAME_MAX + 1];
	char insert_url[URL_MAX];
	bool created;                           /* delivery thread only */
};

struct clickhouse {
	/* Set by open, then read-only. */
	char url[URL_MAX];
	char shown_url[URL_MAX];   /* for log lines: the url without a USER:PASSWORD@ */
	char database[CLICKHOUSE_NAME_MAX + 1];
	bool create_table;
	unsigned destination_count;
	struct destination destinations[DELIVERY_MAX_DESTINATIONS];
	struct delivery *delivery;

	/* Delivery thread only. */
	CURL *handle;              /* reused: the connection is kept alive between batches */
	struct curl_slist *headers;
	char response[RESPONSE_MAX];
	size_t response_length;
	char curl_error[CURL_ERROR_SIZE];

	/* Producer only: a flattened proto_stats burst (the prefixes repeated: at most twice as long). */
	char flat[2 * KERNEL_BURST * JSONL_LINE_MAX];
};

/* ---- names and tables ------------------------------------------------------- */

static bool
name_character(char character)
{
	return isalnum((unsigned char)character) || character == '_';
}

/* @p pattern with `{type}` replaced by @p type. @return false when it does not fit. */
static bool
replace_type(const char *pattern, const char *type, char *name, size_t size)
{
	const char *placeholder = strstr(pattern, "{type}");
	int length;

	if (placeholder == NULL)
		length = snprintf(name, size, "%s", pattern);
	else
		length = snprintf(name, size, "%.*s%s%s", (int)(placeholder - pattern), pattern, type,
				  placeholder + strlen("{type}"));
	return length > 0 && (size_t)length < size;
}

bool
clickhouse_name_valid(const char *name, bool allow_type)
{
	char replaced[CLICKHOUSE_NAME_MAX + 1];

	if (!replace_type(name, "proto_stats", replaced, sizeof(replaced)) || replaced[0] == '\0')
		return false;
	if (!allow_type && strcmp(replaced, name) != 0)
		return false;
	for (const char *c = replaced; *c != '\0'; c++)
		if (!name_character(*c))
			return false;
	return !isdigit((unsigned char)replaced[0]);
}

#define APPEND(text, size, length, ...)                                                          \
	((length) += snprintf((size_t)(length) < (size) ? (text) + (length) : NULL,                \
			      (size_t)(length) < (size) ? (size) - (size_t)(length) : 0, __VA_ARGS__))

/* A column of the SQLite table in a ClickHouse type; a time's `_ns` is computed from it. */
static int
append_column(const struct sqlite_column *column, const struct sqlite_column *previous,
	      char *text, size_t size, int length)
{
	if (column->type == SQLITE_COLUMN_TEXT)
		return APPEND(text, size, length, "`%s` String", column->name);
	if (column->type == SQLITE_COLUMN_REAL) /* seconds, as many decimals as the line has */
		return APPEND(text, size, length, "`%s` Decimal128(9)", column->name);
	if (previous != NULL && previous->type == SQLITE_COLUMN_REAL) /* its `_ns` twin */
		return APPEND(text, size, length,
			      "`%s` UInt64 MATERIALIZED toUInt64(`%s` * 1000000000)", column->name,
			      previous->name);
	return APPEND(text, size, length, "`%s` UInt64", column->name);
}

int
clickhouse_create_text(enum stream_type type, const char *database, const char *table,
		       char *text, size_t size)
{
	const struct sqlite_table *schema = sqlite_schema_table(type);
	char time_column[64];
	int length = 0;

	if (schema == NULL)
		return 0;
	/* the time SQLite indexes, `end_ns`, as its seconds column `end`: 18.16 partitions on it */
	snprintf(time_column, sizeof(time_column), "%.*s", (int)(strlen(schema->time_column) - 3),
		 schema->time_column);
	APPEND(text, size, length, "CREATE TABLE IF NOT EXISTS `%s`.`%s` (", database, table);
	for (unsigned c = 0; c < schema->column_count; c++) {
		if (c > 0)
			APPEND(text, size, length, ", ");
		length = append_column(&schema->columns[c], c > 0 ? &schema->columns[c - 1] : NULL,
				       text, size, length);
	}
	APPEND(text, size, length,
	       ") ENGINE = MergeTree PARTITION BY toYYYYMMDD(toDateTime(toUInt32(`%s`))) "
	       "ORDER BY (`kernel`, `%s`)",
	       time_column, time_column);
	return length;
}

/* ---- flattening ------------------------------------------------------------- */

struct flattener {
	const char *in;
	size_t at;
	size_t length;
	char *out;
	size_t written;
	size_t size;
	bool first;
};

static bool
emit(struct flattener *flattener, const char *bytes, size_t count)
{
	if (flattener->written + count > flattener->size)
		return false;
	memcpy(flattener->out + flattener->written, bytes, count);
	flattener->written += count;
	return true;
}

/* @p prefix `_` @p key, as a column name: `-` is `_`, `+` is `_plus` (sizes_1519_plus). */
static size_t
column_name(const char *prefix, size_t prefix_length, const char *key, size_t key_length,
	    char *name, size_t size)
{
	size_t length = 0;

	if (prefix_length + 1 >= size)
		return 0;
	memcpy(name, prefix, prefix_length);
	length = prefix_length;
	if (prefix_length > 0)
		name[length++] = '_';
	for (size_t k = 0; k < key_length; k++) {
		const char *part = key[k] == '-' ? "_" : key[k] == '+' ? "_plus" : NULL;
		size_t part_length = part != NULL ? strlen(part) : 1;

		if (length + part_length >= size)
			return 0;
		memcpy(name + length, part != NULL ? part : key + k, part_length);
		length += part_length;
	}
	return length;
}

/* Past a scalar value: a string (escapes honoured) or a number, up to `,` or `}`. */
static void
skip_value(struct flattener *flattener)
{
	if (flattener->at < flattener->length && flattener->in[flattener->at] == '"') {
		for (flattener->at++; flattener->at < flattener->length; flattener->at++) {
			if (flattener->in[flattener->at] == '\\')
				flattener->at++;
			else if (flattener->in[flattener->at] == '"')
				break;
		}
		flattener->at++;
		return;
	}
	while (flattener->at < flattener->length && flattener->in[flattener->at] != ',' &&
	       flattener->in[flattener->at] != '}')
		flattener->at++;
}

static bool
emit_field(struct flattener *flattener, const char *name, size_t name_length, size_t value_start)
{
	bool fits = emit(flattener, flattener->first ? "\"" : ",\"", flattener->first ? 1 : 2) &&
		    emit(flattener, name, name_length) && emit(flattener, "\":", 2) &&
		    emit(flattener, flattener->in + value_start, flattener->at - value_start);

	flattener->first = false;
	return fits;
}

/* The members of an object whose `{` is behind, through its `}`. Keys hold no escapes (jsonl.c). */
static bool
flatten_object(struct flattener *flattener, const char *prefix, size_t prefix_length)
{
	while (flattener->at < flattener->length) {
		const char *in = flattener->in, *key, *end;
		char name[256];
		size_t name_length;

		if (in[flattener->at] == '}') {
			flattener->at++;
			return true;
		}
		if (in[flattener->at] == ',') {
			flattener->at++;
			continue;
		}
		if (in[flattener->at] != '"')
			return false;
		key = in + flattener->at + 1;
		end = memchr(key, '"', flattener->length - flattener->at - 1);
		if (end == NULL || end + 1 >= in + flattener->length || end[1] != ':')
			return false;
		flattener->at = (size_t)(end - in) + 2;
		name_length = column_name(prefix, prefix_length, key, (size_t)(end - key), name,
					  sizeof(name));
		if (name_length == 0)
			return false;
		if (flattener->at < flattener->length && in[flattener->at] == '{') {
			flattener->at++;
			if (!flatten_object(flattener, name, name_length))
				return false;
			continue;
		}
		size_t value_start = flattener->at;

		skip_value(flattener);
		if (!emit_field(flattener, name, name_length, value_start))
			return false;
	}
	return false;
}

size_t
clickhouse_flatten_line(const char *line, size_t length, char *flat, size_t size)
{
	struct flattener flattener = {.in = line, .at = 1, .length = length, .out = flat,
				      .size = size, .first = true};

	if (length < 2 || line[0] != '{' || !emit(&flattener, "{", 1) ||
	    !flatten_object(&flattener, "", 0) || !emit(&flattener, "}\n", 2))
		return 0;
	return flattener.written;
}

/* ---- requests (the delivery thread) ----------------------------------------- */

static size_t
keep_response(char *data, size_t size, size_t count, void *user)
{
	struct clickhouse *clickhouse = user;
	size_t room = sizeof(clickhouse->response) - 1 - clickhouse->response_length;
	size_t length = size * count < room ? size * count : room;

	memcpy(clickhouse->response + clickhouse->response_length, data, length);
	clickhouse->response_length += length;
	clickhouse->response[clickhouse->response_length] = '\0';
	return size * count;
}

/* A send still going when the drain timeout passes is abandoned (the sink must finish). */
static int
check_deadline(void *user, curl_off_t download_total, curl_off_t downloaded,
	       curl_off_t upload_total, curl_off_t uploaded)
{
	const struct clickhouse *clickhouse = user;

	(void)download_total, (void)downloaded, (void)upload_total, (void)uploaded;
	return delivery_past_deadline(clickhouse->delivery) ? 1 : 0;
}

static bool
code_refused(long code)
{
	for (size_t c = 0; c < sizeof(refused_codes) / sizeof(refused_codes[0]); c++)
		if (refused_codes[c] == code)
			return true;
	return false;
}

/*
 * A parse error quotes the lines where it stopped (`expected " before:
 * .0.0.19","pkts":403...: (while read the value of key src)`): the quote
 * is cut, so the text says what is wrong in the same words for every batch
 * and is logged once, not once per batch.
 */
static void
cut_data_excerpt(char *text)
{
	char *excerpt = strstr(text, " before: "), *rest;

	if (excerpt == NULL)
		return;
	rest = strstr(excerpt, ": (while read");
	if (rest == NULL)
		rest = strstr(excerpt, ": (at row");
	if (rest == NULL)
		*excerpt = '\0';
	else
		memmove(excerpt, rest, strlen(rest) + 1);
}

/* "HTTP 404: Code: 60, e.displayText() = ..." on one line; refused or retry by the Code. */
static int
server_error(struct clickhouse *clickhouse, long status, char *error, size_t error_size)
{
	long code = 0;

	for (char *c = clickhouse->response; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	cut_data_excerpt(clickhouse->response);
	sscanf(clickhouse->response, "Code: %ld", &code);
	snprintf(error, error_size, "HTTP %ld: %s", status, clickhouse->response);
	return code_refused(code) ? DELIVERY_REFUSED : DELIVERY_RETRY;
}

/* POST @p body to @p url: DELIVERY_SENT on 200, else the server's or curl's reason. */
static int
post(struct clickhouse *clickhouse, const char *url, const char *body, size_t length,
     char *error, size_t error_size)
{
	CURLcode result;
	long status = 0;

	clickhouse->response_length = 0;
	clickhouse->response[0] = '\0';
	clickhouse->curl_error[0] = '\0';
	curl_easy_setopt(clickhouse->handle, CURLOPT_URL, url);
	curl_easy_setopt(clickhouse->handle, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(clickhouse->handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)length);
	result = curl_easy_perform(clickhouse->handle);
	if (result != CURLE_OK) {
		snprintf(error, error_size, "%s: %s", clickhouse->shown_url,
			 clickhouse->curl_error[0] != '\0' ? clickhouse->curl_error
							   : curl_easy_strerror(result));
		return DELIVERY_RETRY;
	}
	curl_easy_getinfo(clickhouse->handle, CURLINFO_RESPONSE_CODE, &status);
	return status == 200 ? DELIVERY_SENT : server_error(clickhouse, status, error, error_size);
}

static int
create_table(struct clickhouse *clickhouse, struct destination *destination, char *error,
	     size_t error_size)
{
	char text[CREATE_TEXT_MAX];
	int length = clickhouse_create_text(destination->type, clickhouse->database,
					    destination->table, text, sizeof(text));
	int result = post(clickhouse, clickhouse->url, text, (size_t)length, error, error_size);

	if (result == DELIVERY_SENT)
		destination->created = true;
	return result;
}

static struct destination *
find_destination(struct clickhouse *clickhouse, const char *name)
{
	for (unsigned d = 0; d < clickhouse->destination_count; d++)
		if (strcmp(clickhouse->destinations[d].name, name) == 0)
			return &clickhouse->destinations[d];
	return NULL;
}

/* delivery_send_fn: create the table if asked and not done yet, then insert the batch. */
static int
send_batch(void *transport, const char *name, const char *data, size_t length, unsigned rows,
	   char *error, size_t error_size)
{
	struct clickhouse *clickhouse = transport;
	struct destination *destination = find_destination(clickhouse, name);
	int result;

	(void)rows;
	if (clickhouse->create_table && !destination->created) {
		result = create_table(clickhouse, destination, error, error_size);
		if (result != DELIVERY_SENT)
			return result;
	}
	return post(clickhouse, destination->insert_url, data, length, error, error_size);
}

/* ---- open and close --------------------------------------------------------- */

/* `http://USER:PASSWORD@HOST:8123/...` as `http://HOST:8123/...`: a password is not logged. */
static void
hide_password(const char *url, char *shown, size_t size)
{
	const char *authority = strstr(url, "://");
	const char *at, *end;

	authority = authority != NULL ? authority + 3 : url;
	end = authority + strcspn(authority, "/?#");
	at = memchr(authority, '@', (size_t)(end - authority));
	if (at == NULL)
		snprintf(shown, size, "%s", url);
	else
		snprintf(shown, size, "%.*s%s", (int)(authority - url), url, at + 1);
}

static pthread_once_t curl_initialized = PTHREAD_ONCE_INIT;

static void
initialize_curl(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool
open_handle(struct clickhouse *clickhouse)
{
	CURL *handle = curl_easy_init();

	if (handle == NULL)
		return false;
	/* libcurl would otherwise wait for a 100-continue before bodies over 1 MB */
	clickhouse->headers = curl_slist_append(NULL, "Expect:");
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, clickhouse->headers);
	curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L); /* a thread of its own: no SIGALRM */
	curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
	curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, clickhouse->curl_error);
	curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, keep_response);
	curl_easy_setopt(handle, CURLOPT_WRITEDATA, clickhouse);
	curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, check_deadline);
	curl_easy_setopt(handle, CURLOPT_XFERINFODATA, clickhouse);
	curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
	clickhouse->handle = handle;
	return clickhouse->headers != NULL;
}

/* `URL?query=INSERT ...&input_format_skip_unknown_fields=1` for one destination. */
static bool
set_insert_url(struct clickhouse *clickhouse, struct destination *destination)
{
	char query[2 * CLICKHOUSE_NAME_MAX + 64];
	size_t url_length = strlen(clickhouse->url);
	const char *separator = strchr(clickhouse->url, '?') != NULL ? "&"
				: url_length > 0 && clickhouse->url[url_length - 1] == '/' ? "?"
											: "/?";
	char *escaped;
	int length;

	snprintf(query, sizeof(query), "INSERT INTO %s FORMAT JSONEachRow", destination->name);
	escaped = curl_easy_escape(clickhouse->handle, query, 0);
	if (escaped == NULL)
		return false;
	length = snprintf(destination->insert_url, sizeof(destination->insert_url),
			  "%s%squery=%s&input_format_skip_unknown_fields=1", clickhouse->url,
			  separator, escaped);
	curl_free(escaped);
	return length > 0 && (size_t)length < sizeof(destination->insert_url);
}

/* One destination per record type that has a table, named `db`.`table`. */
static bool
set_destinations(struct clickhouse *clickhouse, const struct clickhouse_settings *settings,
		 const char *names[DELIVERY_MAX_DESTINATIONS])
{
	unsigned count;
	const struct sqlite_table *tables = sqlite_schema_tables(&count);

	for (unsigned t = 0; t < count && t < DELIVERY_MAX_DESTINATIONS; t++) {
		struct destination *destination = &clickhouse->destinations[t];

		destination->type = tables[t].type;
		if (!replace_type(settings->table, tables[t].name, destination->table,
				  sizeof(destination->table)))
			return false;
		snprintf(destination->name, sizeof(destination->name), "`%s`.`%s`",
			 clickhouse->database, destination->table);
		if (!set_insert_url(clickhouse, destination))
			return false;
		names[t] = destination->name;
		clickhouse->destination_count = t + 1;
	}
	return true;
}

static int
start_delivery(struct clickhouse *clickhouse, const struct clickhouse_settings *settings,
	       char *message, size_t message_size)
{
	const char *names[DELIVERY_MAX_DESTINATIONS];
	struct delivery_settings delivery = {
		.owner = settings->owner, .capacity = settings->capacity,
		.batch_rows = settings->batch_rows, .batch_delay_ns = settings->batch_delay_ns,
		.drain_timeout_ns = settings->drain_timeout_ns, .destinations = names,
		.send = send_batch, .transport = clickhouse,
	};

	if (!set_destinations(clickhouse, settings, names)) {
		snprintf(message, message_size, "table names too long for the URL");
		return -EINVAL;
	}
	delivery.destination_count = clickhouse->destination_count;
	return delivery_open(&clickhouse->delivery, &delivery, message, message_size);
}

static void
free_clickhouse(struct clickhouse *clickhouse)
{
	curl_easy_cleanup(clickhouse->handle);
	curl_slist_free_all(clickhouse->headers);
	free(clickhouse);
}

int
clickhouse_open(struct clickhouse **clickhouse_out, const struct clickhouse_settings *settings,
		char *message, size_t message_size)
{
	struct clickhouse *clickhouse = calloc(1, sizeof(*clickhouse));
	int error;

	if (clickhouse == NULL)
		return -ENOMEM;
	pthread_once(&curl_initialized, initialize_curl);
	snprintf(clickhouse->url, sizeof(clickhouse->url), "%s", settings->url);
	hide_password(settings->url, clickhouse->shown_url, sizeof(clickhouse->shown_url));
	snprintf(clickhouse->database, sizeof(clickhouse->database), "%s", settings->database);
	clickhouse->create_table = settings->create_table;
	if (!open_handle(clickhouse)) {
		snprintf(message, message_size, "cannot set up libcurl");
		free_clickhouse(clickhouse);
		return -ENOMEM;
	}
	error = start_delivery(clickhouse, settings, message, message_size);
	if (error != 0) {
		free_clickhouse(clickhouse);
		return error;
	}
	*clickhouse_out = clickhouse;
	return 0;
}

size_t
clickhouse_space(struct clickhouse *clickhouse)
{
	return delivery_space(clickhouse->delivery);
}

/* proto_stats lines, one per window and kernel: flattened one by one into `flat`. */
static size_t
flatten_lines(struct clickhouse *clickhouse, const char *lines, size_t length)
{
	size_t written = 0;

	while (length > 0) {
		const char *newline = memchr(lines, '\n', length);
		size_t line = newline != NULL ? (size_t)(newline - lines) + 1 : length;

		written += clickhouse_flatten_line(lines, line, clickhouse->flat + written,
						   sizeof(clickhouse->flat) - written);
		lines += line;
		length -= line;
	}
	return written;
}

void
clickhouse_append(struct clickhouse *clickhouse, enum stream_type type, const char *lines,
		  size_t length)
{
	for (unsigned d = 0; d < clickhouse->destination_count; d++) {
		if (clickhouse->destinations[d].type != type)
			continue;
		if (type == STREAM_PROTO_STATS && 2 * length <= sizeof(clickhouse->flat)) {
			length = flatten_lines(clickhouse, lines, length);
			lines = clickhouse->flat;
		}
		delivery_append(clickhouse->delivery, d, lines, length);
		return;
	}
}

bool
clickhouse_flush(struct clickhouse *clickhouse)
{
	return delivery_flush(clickhouse->delivery);
}

void
clickhouse_figures(struct clickhouse *clickhouse, struct delivery_figures *figures)
{
	delivery_figures(clickhouse->delivery, figures);
}

void
clickhouse_close(struct clickhouse *clickhouse)
{
	if (clickhouse == NULL)
		return;
	delivery_close(clickhouse->delivery); /* the thread ends: the handle is free to clean up */
	free_clickhouse(clickhouse);
}
