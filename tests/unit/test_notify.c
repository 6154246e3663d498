/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The systemd watchdog's decision (a ping only while every polling thread
 * makes progress) and the STATUS= text, on snapshots made by hand.
 */
#include <string.h>

#include <check.h>

#include "notify.h"
#include "status.h"
#include "suites.h"

/* Two workers and the sink thread, as status_take() lists them. */
static struct status_lcore lcores[3];
static struct status_snapshot snapshot;

static void
setup(void)
{
	lcores[0] = (struct status_lcore){.lcore = 0, .sink_thread = true, .rounds = 10};
	lcores[1] = (struct status_lcore){.lcore = 1, .rounds = 100};
	lcores[2] = (struct status_lcore){.lcore = 2, .rounds = 200};
	snapshot = (struct status_snapshot){.generation = 3, .lcore_count = 3, .lcores = lcores};
}

static void
advance_all(void)
{
	for (unsigned l = 0; l < snapshot.lcore_count; l++)
		lcores[l].rounds += 1;
}

START_TEST(test_first_tick_only_remembers)
{
	struct notify_progress progress = {0};

	ck_assert(!notify_progress_check(&progress, &snapshot));
	ck_assert(progress.known);
	ck_assert_uint_eq(progress.count, 3);
	ck_assert_uint_eq(progress.rounds[2], 200);
}
END_TEST

START_TEST(test_every_thread_progressed)
{
	struct notify_progress progress = {0};

	notify_progress_check(&progress, &snapshot);
	advance_all();
	ck_assert(notify_progress_check(&progress, &snapshot));
	advance_all();
	ck_assert(notify_progress_check(&progress, &snapshot));
}
END_TEST

START_TEST(test_one_stuck_worker_stops_the_ping)
{
	struct notify_progress progress = {0};

	notify_progress_check(&progress, &snapshot);
	lcores[0].rounds += 5;
	lcores[2].rounds += 5;
	ck_assert(!notify_progress_check(&progress, &snapshot));  /* lcore 1 did not move */
	ck_assert(!notify_progress_check(&progress, &snapshot));  /* nobody moved */
	advance_all();
	ck_assert(notify_progress_check(&progress, &snapshot));   /* it moves again */
}
END_TEST

START_TEST(test_stuck_sink_thread_stops_the_ping)
{
	struct notify_progress progress = {0};

	notify_progress_check(&progress, &snapshot);
	lcores[1].rounds += 1;
	lcores[2].rounds += 1;
	ck_assert(!notify_progress_check(&progress, &snapshot));
}
END_TEST

START_TEST(test_changed_threads_rebaseline)
{
	struct notify_progress progress = {0};

	notify_progress_check(&progress, &snapshot);
	advance_all();
	snapshot.lcore_count = 2;  /* one thread fewer: counts of other threads are not compared */
	ck_assert(!notify_progress_check(&progress, &snapshot));
	advance_all();
	ck_assert(notify_progress_check(&progress, &snapshot));
	lcores[1].lcore = 5;       /* same count, another lcore id */
	advance_all();
	ck_assert(!notify_progress_check(&progress, &snapshot));
}
END_TEST

START_TEST(test_status_text)
{
	struct status_instance instances[2] = {
		{.is_source = true, .items_out_per_second = 1234.4},
		{.is_source = false},
	};
	char text[160];

	instances[0].totals.counters.items_out = 5000;
	instances[0].totals.counters.ring_overflow = 7;
	instances[0].totals.stat_count = 3;
	instances[0].totals.stats[0] = (struct kernel_stat){.name = "socket_drops", .value = 30};
	instances[0].totals.stats[1] = (struct kernel_stat){.name = "malformed_packets", .value = 99};
	instances[0].totals.stats[2] = (struct kernel_stat){.name = "nic_imissed", .value = 2};
	instances[1].totals.counters.items_out = 40;
	snapshot.instance_count = 2;
	snapshot.instances = instances;
	notify_status_text(&snapshot, text, sizeof(text));
	ck_assert_str_eq(text, "generation 3: 1234 pps, 5000 packets, 39 dropped");
}
END_TEST

/* A source whose device cannot count a drop: its replicas count once, as the exit summary counts it. */
START_TEST(test_status_text_unknown_drops)
{
	struct status_instance instances[4] = {
		{.kernel = "rx", .is_source = true, .items_out_per_second = 10},
		{.kernel = "rx", .is_source = true, .items_out_per_second = 10},
		{.kernel = "file", .is_source = true},
		{.kernel = "count", .is_source = false},
	};
	char text[160];

	for (unsigned i = 0; i < 2; i++) {
		instances[i].totals.counters.items_out = 100;
		instances[i].totals.stat_count = 2;
		instances[i].totals.stats[0] = (struct kernel_stat){.name = "nic_imissed", .value = 4};
		instances[i].totals.stats[1] =
			(struct kernel_stat){.name = "nic_rx_nombuf" KERNEL_STAT_UNKNOWN_SUFFIX};
	}
	instances[2].totals.counters.items_out = 50;
	instances[2].totals.counters.ring_overflow = 1;
	snapshot.instance_count = 4;
	snapshot.instances = instances;
	notify_status_text(&snapshot, text, sizeof(text));
	ck_assert_str_eq(text, "generation 3: 20 pps, 250 packets, 9 dropped; drops unknown at 1 source");

	/* a second source kernel that cannot tell: the plural */
	instances[2].totals.stat_count = 1;
	instances[2].totals.stats[0] =
		(struct kernel_stat){.name = "socket_drops" KERNEL_STAT_UNKNOWN_SUFFIX};
	notify_status_text(&snapshot, text, sizeof(text));
	ck_assert_str_eq(text, "generation 3: 20 pps, 250 packets, 9 dropped; drops unknown at 2 sources");

	/* the mark on a kernel that is not a source holds no received frame: not a source */
	instances[2].totals.stat_count = 0;
	instances[3].totals.stat_count = 1;
	instances[3].totals.stats[0] =
		(struct kernel_stat){.name = "socket_drops" KERNEL_STAT_UNKNOWN_SUFFIX};
	notify_status_text(&snapshot, text, sizeof(text));
	ck_assert_str_eq(text, "generation 3: 20 pps, 250 packets, 9 dropped; drops unknown at 1 source");
}
END_TEST

Suite *
notify_suite(void)
{
	Suite *suite = suite_create("notify");
	TCase *watchdog = tcase_create("watchdog");
	TCase *status = tcase_create("status");

	tcase_add_checked_fixture(watchdog, setup, NULL);
	tcase_add_test(watchdog, test_first_tick_only_remembers);
	tcase_add_test(watchdog, test_every_thread_progressed);
	tcase_add_test(watchdog, test_one_stuck_worker_stops_the_ping);
	tcase_add_test(watchdog, test_stuck_sink_thread_stops_the_ping);
	tcase_add_test(watchdog, test_changed_threads_rebaseline);
	tcase_add_checked_fixture(status, setup, NULL);
	tcase_add_test(status, test_status_text);
	tcase_add_test(status, test_status_text_unknown_drops);
	suite_add_tcase(suite, watchdog);
	suite_add_tcase(suite, status);
	return suite;
}
