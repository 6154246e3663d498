/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include "ctl_alerts.h"

/* The key as the records write it: one address, or source > destination. */
static void
format_key(const json_t *alert, char *text, size_t size)
{
	const char *source = json_string_value(json_object_get(alert, "src"));
	const char *destination = json_string_value(json_object_get(alert, "dst"));

	if (source != NULL && destination != NULL)
		snprintf(text, size, "%s > %s", source, destination);
	else
		snprintf(text, size, "%s", source != NULL ? source : destination ? destination : "-");
}

/* A limit's unit: "pkts" or "bytes", per window or "/s". */
static void
format_metric(const json_t *alert, char *text, size_t size)
{
	const char *per = json_string_value(json_object_get(alert, "per"));

	snprintf(text, size, "%s%s", json_string_value(json_object_get(alert, "metric")),
		 per != NULL && strcmp(per, "second") == 0 ? "/s" : "");
}

void
ctl_print_alerts(const json_t *reply, FILE *out)
{
	const json_t *alert;
	size_t index;

	fprintf(out, "%" JSON_INTEGER_FORMAT " open alerts (%" JSON_INTEGER_FORMAT " shown, the "
		"furthest above their limits first)\n",
		json_integer_value(json_object_get(reply, "open")),
		json_integer_value(json_object_get(reply, "shown")));
	fprintf(out, "%-12s %-16s %-39s %-14s %-8s %12s %12s %12s %9s\n", "KERNEL", "ALERT_ID", "KEY",
		"GROUP", "METRIC", "VALUE", "PEAK", "THRESHOLD", "AGE");
	json_array_foreach(json_object_get(reply, "alerts"), index, alert) {
		const char *group = json_string_value(json_object_get(alert, "group"));
		char key[96], metric[16];

		format_key(alert, key, sizeof(key));
		format_metric(alert, metric, sizeof(metric));
		fprintf(out, "%-12s %-16s %-39s %-14s %-8s %12" JSON_INTEGER_FORMAT
			" %12" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT " %8.1fs\n",
			json_string_value(json_object_get(alert, "kernel")),
			json_string_value(json_object_get(alert, "alert_id")), key,
			group != NULL ? group : "-", metric,
			json_integer_value(json_object_get(alert, "value")),
			json_integer_value(json_object_get(alert, "peak")),
			json_integer_value(json_object_get(alert, "threshold")),
			json_number_value(json_object_get(alert, "age")));
	}
}
