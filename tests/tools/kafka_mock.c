/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kafka_mock: a Kafka cluster for the tests, librdkafka's own mock cluster
 * (no Kafka broker is packaged for Debian 12). It prints the bootstrap
 * servers on the first line of stdout, then reads commands on stdin, one a
 * line, and answers each with "ok" (or "error: ...") so a test knows it took
 * effect:
 *
 *   down ID|all    the broker stops answering (rd_kafka_mock_broker_set_down)
 *   up ID|all      it answers again
 *   errors APIKEY COUNT ERROR   the next COUNT requests of APIKEY fail with
 *                  ERROR (rd_kafka_mock_push_request_errors; 0 is Produce)
 *
 * It exits at the end of stdin.
 *
 * usage: kafka_mock BROKERS PARTITIONS TOPIC...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Apply down/up to broker @p which ("all": 1..@p brokers). */
static int
set_brokers(rd_kafka_mock_cluster_t *cluster, int brokers, const char *which, int up)
{
	int first = 1, last = brokers;

	if (strcmp(which, "all") != 0)
		first = last = atoi(which);
	if (first < 1 || last > brokers)
		return -1;
	for (int id = first; id <= last; id++)
		if ((up ? rd_kafka_mock_broker_set_up(cluster, id)
			: rd_kafka_mock_broker_set_down(cluster, id)) != RD_KAFKA_RESP_ERR_NO_ERROR)
			return -1;
	return 0;
}

static void
run_command(rd_kafka_mock_cluster_t *cluster, int brokers, const char *line)
{
	char verb[16], argument[16];
	int api_key, count, error, fields;

	fields = sscanf(line, "%15s %15s", verb, argument);
	if (fields == 2 && (strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0)) {
		if (set_brokers(cluster, brokers, argument, strcmp(verb, "up") == 0) == 0)
			printf("ok\n");
		else
			printf("error: no broker %s\n", argument);
	} else if (sscanf(line, "errors %d %d %d", &api_key, &count, &error) == 3 && count > 0) {
		rd_kafka_resp_err_t errors[count];

		for (int i = 0; i < count; i++)
			errors[i] = (rd_kafka_resp_err_t)error;
		rd_kafka_mock_push_request_errors_array(cluster, (int16_t)api_key, (size_t)count,
							errors);
		printf("ok\n");
	} else {
		printf("error: unknown command: %s", line);
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	char message[512], line[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_mock_cluster_t *cluster;
	rd_kafka_t *handle;
	int brokers, partitions;

	if (argc < 4) {
		fprintf(stderr, "usage: kafka_mock BROKERS PARTITIONS TOPIC...\n");
		return 64;
	}
	brokers = atoi(argv[1]);
	partitions = atoi(argv[2]);
	/* the mock cluster lives in a client handle; this one never produces */
	handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, message, sizeof(message));
	if (handle == NULL) {
		fprintf(stderr, "kafka_mock: %s\n", message);
		return 1;
	}
	cluster = rd_kafka_mock_cluster_new(handle, brokers);
	if (cluster == NULL) {
		fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
		return 1;
	}
	for (int i = 3; i < argc; i++)
		if (rd_kafka_mock_topic_create(cluster, argv[i], partitions, brokers < 3 ? brokers : 3) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "kafka_mock: cannot create topic %s\n", argv[i]);
			return 1;
		}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL)
		run_command(cluster, brokers, line);
	rd_kafka_mock_cluster_destroy(cluster);
	rd_kafka_destroy(handle);
	return 0;
}
