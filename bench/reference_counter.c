/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ceiling for offline per-source counting: one thread, plain C and libc.
 *
 * mmaps a classic pcap (24-byte global header, 16-byte record headers,
 * microsecond or nanosecond magic, either byte order, LINKTYPE_ETHERNET),
 * parses the outer source address the way jetstreamd does (Ethernet, any
 * number of 802.1Q / 802.1ad / 0x9100 tags, IPv4 or IPv6; frames without an
 * IP header are skipped), and counts packets and bytes (orig_len, i.e.
 * Wireshark's frame.len) per source in an open-addressing table with 16-byte
 * keys (IPv4 stored IPv4-mapped), power-of-two sized, linear probing.
 * Then writes `source<TAB>packets<TAB>bytes`, sorted by the source text like
 * the oracle files of scripts/gen_trace.py (IPv6 compressed by inet_ntop).
 *
 *   build/reference_counter FILE.pcap [OUTPUT.tsv]     (default output: stdout)
 *
 * stderr gets one line: frames, keyed frames, sources and the time of the
 * counting loop alone (the benchmark times the whole process).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PCAP_GLOBAL_HEADER 24
#define PCAP_RECORD_HEADER 16
#define LINKTYPE_ETHERNET 1

struct entry {
	uint8_t key[16];
	uint64_t packets; /* 0 = empty slot */
	uint64_t bytes;
};

struct table {
	struct entry *slots;
	size_t mask; /* capacity - 1, capacity a power of two */
	size_t used;
};

static uint32_t
swap32(uint32_t value)
{
	return __builtin_bswap32(value);
}

static uint16_t
read_be16(const uint8_t *bytes)
{
	return (uint16_t)(bytes[0] << 8 | bytes[1]);
}

static uint64_t
hash_key(const uint8_t key[16])
{
	uint64_t low, high;

	memcpy(&low, key, 8);
	memcpy(&high, key + 8, 8);
	uint64_t h = low * 0x9e3779b97f4a7c15ull ^ (high + 0x632be59bd9b4e019ull) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

static void
table_init(struct table *table, size_t capacity)
{
	table->slots = calloc(capacity, sizeof(*table->slots));
	if (table->slots == NULL) {
		perror("calloc");
		exit(1);
	}
	table->mask = capacity - 1;
	table->used = 0;
}

static struct entry *
table_slot(struct table *table, const uint8_t key[16])
{
	size_t index = hash_key(key) & table->mask;

	for (;;) {
		struct entry *slot = &table->slots[index];

		if (slot->packets == 0 || memcmp(slot->key, key, 16) == 0)
			return slot;
		index = (index + 1) & table->mask;
	}
}

static void
table_grow(struct table *table)
{
	struct table bigger;

	table_init(&bigger, 2 * (table->mask + 1));
	for (size_t i = 0; i <= table->mask; i++) {
		struct entry *old = &table->slots[i];

		if (old->packets != 0) {
			*table_slot(&bigger, old->key) = *old;
			bigger.used++;
		}
	}
	free(table->slots);
	*table = bigger;
}

static void
table_add(struct table *table, const uint8_t key[16], uint32_t bytes)
{
	struct entry *slot = table_slot(table, key);

	if (slot->packets == 0) {
		memcpy(slot->key, key, 16);
		table->used++;
		slot->packets = 1;
		slot->bytes = bytes;
		if (2 * table->used > table->mask + 1) /* keep the load at most 1/2 */
			table_grow(table);
		return;
	}
	slot->packets++;
	slot->bytes += bytes;
}

/* Outer source address of an Ethernet frame into @key (IPv4-mapped); 0 when it has none. */
static int
source_key(const uint8_t *frame, uint32_t length, uint8_t key[16])
{
	static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint32_t offset = 12;
	uint16_t type;

	if (length < 14)
		return 0;
	type = read_be16(frame + offset);
	offset += 2;
	while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
		if (length < offset + 4)
			return 0;
		type = read_be16(frame + offset + 2);
		offset += 4;
	}
	if (type == 0x0800) {
		if (length < offset + 16 || frame[offset] >> 4 != 4)
			return 0;
		memcpy(key, mapped_prefix, 12);
		memcpy(key + 12, frame + offset + 12, 4);
		return 1;
	}
	if (type == 0x86dd) {
		if (length < offset + 24 || frame[offset] >> 4 != 6)
			return 0;
		memcpy(key, frame + offset + 8, 16);
		return 1;
	}
	return 0;
}

struct row {
	char text[INET6_ADDRSTRLEN];
	const struct entry *entry;
};

static int
compare_rows(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->text, ((const struct row *)b)->text);
}

static double
now_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FILE.pcap [OUTPUT.tsv]\n", argv[0]);
		return 64;
	}
	int fd = open(argv[1], O_RDONLY);
	struct stat status;

	if (fd < 0 || fstat(fd, &status) != 0) {
		perror(argv[1]);
		return 1;
	}
	size_t size = (size_t)status.st_size;
	if (size < PCAP_GLOBAL_HEADER) {
		fprintf(stderr, "%s: not a classic pcap file\n", argv[1]);
		return 1;
	}
	const uint8_t *file = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (file == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise((void *)file, size, MADV_SEQUENTIAL);

	uint32_t magic, linktype;
	memcpy(&magic, file, 4);
	memcpy(&linktype, file + 20, 4);
	int swapped;
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) {
		swapped = 0;
	} else if (swap32(magic) == 0xa1b2c3d4u || swap32(magic) == 0xa1b23c4du) {
		swapped = 1;
		linktype = swap32(linktype);
	} else {
		fprintf(stderr, "%s: not a classic pcap file (magic %08x)\n", argv[1], magic);
		return 1;
	}
	if ((linktype & 0xffff) != LINKTYPE_ETHERNET) {
		fprintf(stderr, "%s: link type %u, only Ethernet (1) is handled\n", argv[1], linktype);
		return 1;
	}

	struct table table;
	uint64_t frames = 0, keyed = 0;
	size_t offset = PCAP_GLOBAL_HEADER;
	uint8_t key[16];
	double start = now_seconds();

	table_init(&table, 1u << 16);
	while (offset + PCAP_RECORD_HEADER <= size) {
		uint32_t captured, original;

		memcpy(&captured, file + offset + 8, 4);
		memcpy(&original, file + offset + 12, 4);
		if (swapped) {
			captured = swap32(captured);
			original = swap32(original);
		}
		offset += PCAP_RECORD_HEADER;
		if (captured > size - offset) {
			fprintf(stderr, "%s: truncated record at offset %zu\n", argv[1], offset);
			return 1;
		}
		frames++;
		if (source_key(file + offset, captured, key)) {
			keyed++;
			table_add(&table, key, original);
		}
		offset += captured;
	}
	double counted = now_seconds() - start;

	struct row *rows = malloc((table.used ? table.used : 1) * sizeof(*rows));
	size_t count = 0;
	if (rows == NULL) {
		perror("malloc");
		return 1;
	}
	for (size_t i = 0; i <= table.mask; i++) {
		const struct entry *slot = &table.slots[i];

		if (slot->packets == 0)
			continue;
		if (memcmp(slot->key, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			inet_ntop(AF_INET, slot->key + 12, rows[count].text, sizeof(rows[count].text));
		else
			inet_ntop(AF_INET6, slot->key, rows[count].text, sizeof(rows[count].text));
		rows[count++].entry = slot;
	}
	qsort(rows, count, sizeof(*rows), compare_rows);

	FILE *output = argc == 3 ? fopen(argv[2], "w") : stdout;
	if (output == NULL) {
		perror(argv[2]);
		return 1;
	}
	for (size_t i = 0; i < count; i++)
		fprintf(output, "%s\t%llu\t%llu\n", rows[i].text, (unsigned long long)rows[i].entry->packets,
			(unsigned long long)rows[i].entry->bytes);
	if (fclose(output) != 0) {
		perror("write");
		return 1;
	}
	fprintf(stderr, "reference_counter: %llu frames, %llu with an IP source, %zu sources; "
		"counting loop %.3f s (%.2f Mpps)\n", (unsigned long long)frames, (unsigned long long)keyed,
		count, counted, counted > 0 ? (double)frames / counted / 1e6 : 0.0);
	free(rows);
	free(table.slots);
	munmap((void *)file, size);
	close(fd);
	return 0;
}
