/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The metrics endpoint (metrics.h): libmicrohttpd without a thread of its
 * own. The control loop calls metrics_serve() on every wake-up (1 ms), and
 * MHD_run() there handles what is ready without waiting (epoll with a zero
 * timeout), so a slow or hostile client never holds the control thread: it
 * gets at most METRICS_CONNECTIONS connections, each closed after
 * METRICS_TIMEOUT_S without progress.
 *
 * Access: everything here is the control thread's.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics.h"
#include "metrics_text.h"
#include "status.h"

/*
 * A scraper needs one connection; more let operators' clients in beside it.
 * Idle ones go after METRICS_TIMEOUT_S, so clients that connect and say
 * nothing keep the scrapes out for that long at most.
 */
#define METRICS_CONNECTIONS 32
/* Seconds a connection may stay idle: a scrape is answered at once, so this is plenty. */
#define METRICS_TIMEOUT_S 5
#define METRICS_BACKLOG 16

static struct {
	struct MHD_Daemon *daemon;            /* cp only */
} metrics;

static int
listen_on(const struct addrinfo *where)
{
	int one = 1;
	int fd = socket(where->ai_family, where->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			where->ai_protocol);

	if (fd < 0)
		return -1;
	/* a restart must not wait for the previous run's connections in TIME_WAIT */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, where->ai_addr, where->ai_addrlen) != 0 || listen(fd, METRICS_BACKLOG) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* A listening, non-blocking socket on @p address, or -1 with a message in @p error. */
static int
open_listener(const char *address, char *error, size_t error_size)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *found, *where;
	char host[64], port[16];
	int fd = -1, result, saved = 0;

	if (!config_split_host_port(address, host, sizeof(host), port, sizeof(port))) {
		snprintf(error, error_size, "metrics '%s': expected HOST:PORT", address);
		return -1;
	}
	result = getaddrinfo(host, port, &hints, &found);
	if (result != 0) {
		snprintf(error, error_size, "metrics '%s': %s", address, gai_strerror(result));
		return -1;
	}
	for (where = found; where != NULL && fd < 0; where = where->ai_next) {
		fd = listen_on(where);
		saved = errno;
	}
	freeaddrinfo(found);
	if (fd < 0)
		snprintf(error, error_size, "metrics: cannot listen on %s: %s", address,
			 strerror(saved));
	return fd;
}

static enum MHD_Result
respond(struct MHD_Connection *connection, unsigned status, const char *content_type, char *body,
	size_t length)
{
	struct MHD_Response *response =
		MHD_create_response_from_buffer(length, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result result;

	if (response == NULL) {
		free(body);
		return MHD_NO; /* MHD closes the connection */
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	result = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result
respond_text(struct MHD_Connection *connection, unsigned status, const char *text)
{
	char *body = strdup(text);

	return body != NULL ? respond(connection, status, "text/plain; charset=utf-8", body,
				      strlen(text))
			    : MHD_NO;
}

/* The body of a scrape: the figures now, rendered from a snapshot. */
static enum MHD_Result
respond_metrics(struct MHD_Connection *connection)
{
	struct status_snapshot *snapshot = status_take();
	char *body = NULL;
	size_t length = 0;
	FILE *stream;
	int rendered = -1;

	if (snapshot == NULL)
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	stream = open_memstream(&body, &length);
	if (stream != NULL) {
		rendered = metrics_text_render(snapshot, stream);
		rendered |= fclose(stream);
	}
	status_free(snapshot);
	if (stream == NULL || rendered != 0) {
		free(body);
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return respond(connection, MHD_HTTP_OK, METRICS_TEXT_CONTENT_TYPE, body, length);
}

/* Only GET (or HEAD) /metrics; a request body, if any, is not read. */
static enum MHD_Result
answer(void *closure, struct MHD_Connection *connection, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_data_size, void **request)
{
	(void)closure;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)request;
	if (strcmp(url, "/metrics") != 0)
		return respond_text(connection, MHD_HTTP_NOT_FOUND,
				    "not found: the metrics are at /metrics\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return respond_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	return respond_metrics(connection);
}

static void
log_from_library(void *closure, const char *format, va_list arguments)
{
	char message[256];
	size_t length;

	(void)closure;
	vsnprintf(message, sizeof(message), format, arguments);
	length = strlen(message);
	if (length > 0 && message[length - 1] == '\n')
		message[length - 1] = '\0';
	log_warning("metrics: %s", message);
}

int
metrics_open(const struct daemon_settings *settings, char *error, size_t error_size)
{
	int listen_fd;

	if (strcmp(settings->metrics, "off") == 0)
		return 0;
	listen_fd = open_listener(settings->metrics, error, error_size);
	if (listen_fd < 0)
		return -1;
	/* no MHD_USE_INTERNAL_POLLING_THREAD: the control loop runs it (metrics_serve) */
	metrics.daemon = MHD_start_daemon(
		MHD_USE_ERROR_LOG | MHD_USE_EPOLL, 0, NULL, NULL, answer, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, log_from_library, NULL,
		MHD_OPTION_LISTEN_SOCKET, listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S, MHD_OPTION_END);
	/*
	 * The socket is MHD's from here: MHD_stop_daemon() closes it, and so may a
	 * failed start. Closing it again could close a file another thread has
	 * opened under the same number since (a sink reopening its file).
	 */
	if (metrics.daemon == NULL) {
		snprintf(error, error_size, "metrics: cannot serve on %s", settings->metrics);
		return -1;
	}
	log_info("metrics at http://%s/metrics", settings->metrics);
	return 0;
}

void
metrics_serve(void)
{
	if (metrics.daemon != NULL)
		MHD_run(metrics.daemon);
}

void
metrics_close(void)
{
	if (metrics.daemon != NULL)
		MHD_stop_daemon(metrics.daemon); /* closes the listening socket too */
	metrics.daemon = NULL;
}
