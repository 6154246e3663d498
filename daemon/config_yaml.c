/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration files as YAML trees: reading a file with bounds on its size,
 * the bounded tree built from libyaml's events, syntax errors that say what to
 * fix, and the node helpers the binder reads the tree with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_private.h"

/* ---- YAML helpers ---- */

struct config_position
node_position(const struct file_context *file, const yaml_node_t *node)
{
	return (struct config_position){
		.file = file->name,
		.line = (unsigned)node->start_mark.line + 1,
		.column = (unsigned)node->start_mark.column + 1,
	};
}

void
node_error(struct file_context *file, const yaml_node_t *node, const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	config_error_va(file->loader->errors, node_position(file, node), format, arguments);
	va_end(arguments);
}

yaml_node_t *
node_at(struct file_context *file, int index)
{
	return yaml_document_get_node(&file->document, index);
}

const char *
scalar_text(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

const char *
node_kind(const yaml_node_t *node)
{
	if (node->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (node->type == YAML_SEQUENCE_NODE)
		return "a list";
	return "a single value";
}

/*
 * An empty plain scalar is what YAML gives for `key:` with nothing after it,
 * and `~` is YAML's null, not the text "~". The word `null` is a value here
 * (`format: null`), so only scalar_is_null() takes it as null, where no value
 * can be called that.
 */
bool
scalar_is_missing(const yaml_node_t *node)
{
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return node->data.scalar.length == 0 || strcmp(scalar_text(node), "~") == 0;
}

/* scalar_is_missing(), or YAML's null written as a word, or "" quoted. */
bool
scalar_is_null(const yaml_node_t *node)
{
	static const char *const null_words[] = {"null", "Null", "NULL", NULL};

	if (node->type != YAML_SCALAR_NODE)
		return false;
	if (scalar_is_missing(node) || node->data.scalar.length == 0)
		return true;
	for (unsigned i = 0; null_words[i] != NULL; i++)
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    strcmp(scalar_text(node), null_words[i]) == 0)
			return true;
	return false;
}

unsigned
sequence_length(const yaml_node_t *node)
{
	return (unsigned)(node->data.sequence.items.top - node->data.sequence.items.start);
}

/* The value of the first @p key in @p mapping, or NULL. */
yaml_node_t *
mapping_value(struct file_context *file, const yaml_node_t *mapping, const char *key)
{
	for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
	     pair < mapping->data.mapping.pairs.top; pair++) {
		const yaml_node_t *key_node = node_at(file, pair->key);

		if (key_node->type == YAML_SCALAR_NODE && strcmp(scalar_text(key_node), key) == 0)
			return node_at(file, pair->value);
	}
	return NULL;
}

/* Keys must be plain names; libyaml accepts lists and mappings as keys too. */
bool
key_is_scalar(struct file_context *file, const yaml_node_t *key)
{
	if (key->type == YAML_SCALAR_NODE)
		return true;
	node_error(file, key, "keys must be names, not %s", node_kind(key));
	return false;
}

/* libyaml keeps duplicate keys; the second would silently win, so it is refused. */
bool
key_is_duplicate(struct file_context *file, const yaml_node_t *mapping,
		 const yaml_node_pair_t *pair)
{
	const yaml_node_t *key = node_at(file, pair->key);

	for (const yaml_node_pair_t *earlier = mapping->data.mapping.pairs.start; earlier < pair;
	     earlier++) {
		const yaml_node_t *earlier_key = node_at(file, earlier->key);

		if (earlier_key->type == YAML_SCALAR_NODE &&
		    strcmp(scalar_text(earlier_key), scalar_text(key)) == 0) {
			node_error(file, key, "duplicate key '%s' (first at line %lu, column %lu)",
				   scalar_text(key), (unsigned long)earlier_key->start_mark.line + 1,
				   (unsigned long)earlier_key->start_mark.column + 1);
			return true;
		}
	}
	return false;
}

/* ---- files ---- */

/* A copy of @p path that lives as long as the config; positions point to it. */
static const char *
remember_file(struct loader *loader, const char *path)
{
	struct config *config = loader->config;
	char *copy;

	if (config->file_count == CONFIG_MAX_PIPELINES + 1)
		return NULL;
	copy = strdup(path);
	if (copy != NULL)
		config->files[config->file_count++] = copy;
	return copy;
}

/* The whole of one file, read before it is parsed so that its size is bounded. */
struct file_text {
	unsigned char *bytes;
	size_t length;
};

/* Position of byte @p offset of @p text (libyaml gives only the offset of an encoding error). */
static struct config_position
offset_position(const char *name, const struct file_text *text, size_t offset)
{
	struct config_position position = {name, 1, 1};
	size_t start = text->length >= 3 && memcmp(text->bytes, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;

	for (size_t i = start; i < offset && i < text->length; i++) {
		if (text->bytes[i] == '\n') {
			position.line++;
			position.column = 1;
		} else if ((text->bytes[i] & 0xc0) != 0x80) {
			position.column++; /* columns count characters, as libyaml's do */
		}
	}
	return position;
}

static void
reader_error(struct file_context *file, const yaml_parser_t *parser, const struct file_text *text)
{
	struct config_position position = offset_position(file->name, text, parser->problem_offset);
	const char *problem = parser->problem ? parser->problem : "cannot read";

	if (strcmp(problem, "control characters are not allowed") == 0)
		config_error(file->loader->errors, position,
			     "control character U+%04X is not allowed in YAML: remove it, or write it "
			     "escaped inside double quotes (\"\\x%02x\")",
			     (unsigned)parser->problem_value, (unsigned)parser->problem_value & 0xff);
	else
		config_error(file->loader->errors, position,
			     "%s (byte 0x%02x): a configuration file is UTF-8 text", problem,
			     (unsigned)parser->problem_value & 0xff);
}

/* First byte of line @p line (0-based) of @p text. */
static const unsigned char *
line_start(const struct file_text *text, size_t line)
{
	const unsigned char *cursor = text->bytes, *end = text->bytes + text->length;

	while (line > 0 && cursor < end) {
		const unsigned char *newline = memchr(cursor, '\n', (size_t)(end - cursor));

		if (newline == NULL)
			return end;
		cursor = newline + 1;
		line--;
	}
	return cursor;
}

/*
 * true when the ':' at @p colon ends a key longer than libyaml takes on one
 * line. libyaml then says "could not find expected ':'" when the key was
 * required there, or "mapping values are not allowed in this context", which
 * tells nobody what to fix. Sets @p key_column to the key's (1-based).
 */
static bool
colon_ends_long_key(const struct file_text *text, yaml_mark_t colon, unsigned *key_column)
{
	const unsigned char *cursor = line_start(text, colon.line);
	const unsigned char *end = text->bytes + text->length;
	unsigned column = 0, key_start = 0;

	if (colon.column <= CONFIG_MAX_KEY_LENGTH)
		return false;
	/* the key starts after the indentation and any "- " of list entries */
	while (cursor < end && (*cursor == ' ' || (*cursor == '-' && cursor + 1 < end &&
						  cursor[1] == ' '))) {
		cursor++;
		column++;
	}
	key_start = column;
	*key_column = key_start + 1;
	return colon.column - key_start > CONFIG_MAX_KEY_LENGTH;
}

static void
long_key_error(struct file_context *file, unsigned line, unsigned column)
{
	config_error(file->loader->errors, (struct config_position){file->name, line, column},
		     "a key longer than %d characters (YAML's limit for a key): shorten it; kernel "
		     "names and keys here are at most %d characters",
		     CONFIG_MAX_KEY_LENGTH, CONFIG_NAME_MAX - 1);
}

static void
syntax_error(struct file_context *file, const yaml_parser_t *parser, const struct file_text *text)
{
	struct config_position position = {
		.file = file->name,
		.line = (unsigned)parser->problem_mark.line + 1,
		.column = (unsigned)parser->problem_mark.column + 1,
	};
	const char *problem = parser->problem ? parser->problem : "invalid YAML";
	unsigned key_column;

	if (parser->error == YAML_READER_ERROR)
		reader_error(file, parser, text);
	else if (parser->context != NULL && strcmp(parser->context, "while scanning a simple key") == 0 &&
		 parser->context_mark.line == parser->problem_mark.line)
		/* on one line, a simple key is lost only by being too long */
		long_key_error(file, (unsigned)parser->context_mark.line + 1,
			       (unsigned)parser->context_mark.column + 1);
	else if (strcmp(problem, "mapping values are not allowed in this context") == 0 &&
		 colon_ends_long_key(text, parser->problem_mark, &key_column))
		long_key_error(file, position.line, key_column);
	else if (parser->context != NULL)
		config_error(file->loader->errors, position, "%s %s started at line %lu, column %lu",
			     problem, parser->context, (unsigned long)parser->context_mark.line + 1,
			     (unsigned long)parser->context_mark.column + 1);
	else
		config_error(file->loader->errors, position, "%s", problem);
}

static void
file_too_large_error(struct loader *loader, const char *name, long long size)
{
	struct config_position whole_file = {name, 0, 0};

	if (size > 0)
		config_error(loader->errors, whole_file,
			     "the file is %lld bytes, more than the %u MB a configuration file may have",
			     size, CONFIG_MAX_FILE_SIZE >> 20);
	else
		config_error(loader->errors, whole_file,
			     "the file is more than the %u MB a configuration file may have",
			     CONFIG_MAX_FILE_SIZE >> 20);
}

/*
 * Whether @p size more bytes pass the loader's limit on all files together;
 * the error names the limit when not.
 */
static bool
within_byte_limit(struct loader *loader, const char *name, size_t size)
{
	struct config_position whole_file = {name, 0, 0};

	if (loader->byte_limit == 0 || size <= loader->byte_limit - loader->bytes_read)
		return true;
	config_error(loader->errors, whole_file,
		     "the files one check reads may have %zu bytes in all; with this one they "
		     "would have more (%zu bytes read before it)",
		     loader->byte_limit, loader->bytes_read);
	return false;
}

/*
 * Opened without blocking (a FIFO without a writer would block open() for
 * ever, then reads as empty); a directory or a file over the size limit is
 * refused before a byte is read, and so is anything but a regular file in a
 * load with a byte limit (a client's check).
 */
static int
open_configuration_file(struct loader *loader, const char *name, struct stat *status)
{
	struct config_position whole_file = {name, 0, 0};
	int descriptor = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (descriptor < 0) {
		config_error(loader->errors, whole_file, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(descriptor, status) != 0 || S_ISDIR(status->st_mode)) {
		config_error(loader->errors, whole_file, "cannot open: %s",
			     strerror(S_ISDIR(status->st_mode) ? EISDIR : errno));
	} else if (loader->byte_limit != 0 && !S_ISREG(status->st_mode)) {
		/* a client's check runs on the control thread: a pipe or a tty could block it for ever */
		config_error(loader->errors, whole_file,
			     "not a regular file: a check through the control socket reads only "
			     "regular files");
	} else if (S_ISREG(status->st_mode) && status->st_size > (off_t)CONFIG_MAX_FILE_SIZE) {
		file_too_large_error(loader, name, (long long)status->st_size);
	} else if (S_ISREG(status->st_mode) &&
		   !within_byte_limit(loader, name, (size_t)status->st_size)) {
		/* the error is reported */
	} else if (fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK) == 0) {
		return descriptor;
	} else {
		config_error(loader->errors, whole_file, "cannot read: %s", strerror(errno));
	}
	close(descriptor);
	return -1;
}

/* Reads all of @p descriptor, at most CONFIG_MAX_FILE_SIZE bytes (a pipe may hold more). */
static bool
read_all(struct loader *loader, const char *name, int descriptor, size_t expected,
	 struct file_text *text)
{
	struct config_position whole_file = {name, 0, 0};
	size_t capacity = expected + 1 > 65536 ? expected + 1 : 65536;

	text->length = 0;
	text->bytes = malloc(capacity);
	for (;;) {
		ssize_t got;

		if (text->bytes == NULL) {
			config_error(loader->errors, whole_file, "out of memory");
			return false;
		}
		if (text->length == capacity) {
			unsigned char *larger = realloc(text->bytes, capacity * 2);

			if (larger == NULL)
				free(text->bytes);
			text->bytes = larger;
			capacity *= 2;
			continue;
		}
		got = read(descriptor, text->bytes + text->length, capacity - text->length);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				return true;
			config_error(loader->errors, whole_file, "cannot read: %s", strerror(errno));
			break;
		}
		text->length += (size_t)got;
		if (text->length > CONFIG_MAX_FILE_SIZE) {
			file_too_large_error(loader, name, 0);
			break;
		}
		/* a pipe, or a file that grew since its size was taken */
		if (!within_byte_limit(loader, name, text->length))
			break;
	}
	free(text->bytes);
	text->bytes = NULL;
	return false;
}

static bool
read_file_text(struct loader *loader, const char *name, struct file_text *text)
{
	struct stat status = {0};
	int descriptor = open_configuration_file(loader, name, &status);
	bool read;

	if (descriptor < 0)
		return false;
	read = read_all(loader, name, descriptor,
			S_ISREG(status.st_mode) ? (size_t)status.st_size : 0, text);
	close(descriptor);
	if (read)
		loader->bytes_read += text->length;
	return read;
}

/* ---- the YAML tree, built from libyaml's events with bounds ---- */

/*
 * libyaml's own loader (yaml_parser_load) has no bound on depth or size, and
 * its scanner checks every open flow level at each token: 80,000 nested
 * brackets took 18 s, a 50 MB list 2.6 GB. Building the same yaml_document_t
 * from events lets the parse stop at the first event past a limit, before the
 * scanner reaches the deep part; the binder reads the tree as before.
 */
struct anchor {
	char *name;
	int node;
};

struct tree_builder {
	struct file_context *file;
	const char *file_kind;                    /* "pipeline" or "settings" */
	yaml_document_t *document;
	unsigned depth;                           /* open lists and mappings */
	int open_nodes[CONFIG_MAX_DEPTH];
	char *open_anchors[CONFIG_MAX_DEPTH];     /* registered when the collection ends */
	int pending_keys[CONFIG_MAX_DEPTH];       /* a mapping's key awaiting its value; 0 = none */
	unsigned node_count;
	unsigned documents;
	bool stream_ended;
	unsigned anchor_count;
	struct anchor anchors[CONFIG_MAX_ANCHORS];
};

static void __attribute__((format(printf, 3, 4)))
builder_error(struct tree_builder *builder, yaml_mark_t mark, const char *format, ...)
{
	struct config_position position = {builder->file->name, (unsigned)mark.line + 1,
					   (unsigned)mark.column + 1};
	va_list arguments;

	va_start(arguments, format);
	config_error_va(builder->file->loader->errors, position, format, arguments);
	va_end(arguments);
}

static bool
builder_out_of_memory(struct tree_builder *builder, yaml_mark_t mark)
{
	builder_error(builder, mark, "out of memory");
	return false;
}

static bool
count_node(struct tree_builder *builder, yaml_mark_t mark)
{
	if (++builder->node_count <= CONFIG_MAX_NODES)
		return true;
	builder_error(builder, mark,
		      "more than %d values in one file (each key, value, list and mapping counts): "
		      "the limit of a configuration file", CONFIG_MAX_NODES);
	return false;
}

/* A later anchor of the same name replaces the earlier one, as YAML says. */
static bool
register_anchor(struct tree_builder *builder, const yaml_char_t *name, int node, yaml_mark_t mark)
{
	if (name == NULL)
		return true;
	for (unsigned i = 0; i < builder->anchor_count; i++) {
		if (strcmp(builder->anchors[i].name, (const char *)name) == 0) {
			builder->anchors[i].node = node;
			return true;
		}
	}
	if (builder->anchor_count == CONFIG_MAX_ANCHORS) {
		builder_error(builder, mark, "more than %d anchors ('&name') in one file",
			      CONFIG_MAX_ANCHORS);
		return false;
	}
	builder->anchors[builder->anchor_count].name = strdup((const char *)name);
	if (builder->anchors[builder->anchor_count].name == NULL)
		return builder_out_of_memory(builder, mark);
	builder->anchors[builder->anchor_count++].node = node;
	return true;
}

/* Makes @p node the next item of the innermost open collection (or the root). */
static bool
attach_node(struct tree_builder *builder, int node, yaml_mark_t mark)
{
	unsigned top = builder->depth - 1;
	yaml_node_t *parent;
	int *pending;

	if (builder->depth == 0)
		return true; /* the root: the document's first node */
	parent = yaml_document_get_node(builder->document, builder->open_nodes[top]);
	if (parent->type == YAML_SEQUENCE_NODE)
		return yaml_document_append_sequence_item(builder->document, builder->open_nodes[top],
							  node) ||
		       builder_out_of_memory(builder, mark);
	pending = &builder->pending_keys[top];
	if (*pending == 0) {
		if (parent->data.mapping.pairs.top - parent->data.mapping.pairs.start >=
		    CONFIG_MAX_MAPPING_KEYS) {
			builder_error(builder, mark, "more than %d keys in one mapping",
				      CONFIG_MAX_MAPPING_KEYS);
			return false;
		}
		*pending = node;
		return true;
	}
	if (!yaml_document_append_mapping_pair(builder->document, builder->open_nodes[top], *pending,
					       node))
		return builder_out_of_memory(builder, mark);
	*pending = 0;
	return true;
}

static bool
add_scalar(struct tree_builder *builder, const yaml_event_t *event)
{
	int node;

	if (!count_node(builder, event->start_mark))
		return false;
	node = yaml_document_add_scalar(builder->document, NULL, event->data.scalar.value,
					(int)event->data.scalar.length, event->data.scalar.style);
	if (node == 0)
		return builder_out_of_memory(builder, event->start_mark);
	yaml_document_get_node(builder->document, node)->start_mark = event->start_mark;
	yaml_document_get_node(builder->document, node)->end_mark = event->end_mark;
	return register_anchor(builder, event->data.scalar.anchor, node, event->start_mark) &&
	       attach_node(builder, node, event->start_mark);
}

static bool
open_collection(struct tree_builder *builder, const yaml_event_t *event)
{
	bool sequence = event->type == YAML_SEQUENCE_START_EVENT;
	const yaml_char_t *anchor = sequence ? event->data.sequence_start.anchor
					     : event->data.mapping_start.anchor;
	int node;

	if (builder->depth == CONFIG_MAX_DEPTH) {
		builder_error(builder, event->start_mark,
			      "lists and mappings nested more than %d deep: the limit of a "
			      "configuration file", CONFIG_MAX_DEPTH);
		return false;
	}
	if (!count_node(builder, event->start_mark))
		return false;
	node = sequence ? yaml_document_add_sequence(builder->document, NULL,
						     event->data.sequence_start.style)
			: yaml_document_add_mapping(builder->document, NULL,
						    event->data.mapping_start.style);
	if (node == 0)
		return builder_out_of_memory(builder, event->start_mark);
	yaml_document_get_node(builder->document, node)->start_mark = event->start_mark;
	if (!attach_node(builder, node, event->start_mark))
		return false;
	builder->open_nodes[builder->depth] = node;
	builder->pending_keys[builder->depth] = 0;
	builder->open_anchors[builder->depth] = anchor ? strdup((const char *)anchor) : NULL;
	builder->depth++;
	return anchor == NULL || builder->open_anchors[builder->depth - 1] != NULL ||
	       builder_out_of_memory(builder, event->start_mark);
}

/* The anchor of a list or mapping is known once it ends: an alias inside it is unknown. */
static bool
close_collection(struct tree_builder *builder, const yaml_event_t *event)
{
	unsigned top = --builder->depth;
	int node = builder->open_nodes[top];
	bool registered;

	yaml_document_get_node(builder->document, node)->end_mark = event->end_mark;
	registered = register_anchor(builder, (const yaml_char_t *)builder->open_anchors[top], node,
				     event->start_mark);
	free(builder->open_anchors[top]);
	builder->open_anchors[top] = NULL;
	return registered;
}

static bool
add_alias(struct tree_builder *builder, const yaml_event_t *event)
{
	const char *name = (const char *)event->data.alias.anchor;

	if (!count_node(builder, event->start_mark))
		return false;
	for (unsigned i = builder->anchor_count; i-- > 0;)
		if (strcmp(builder->anchors[i].name, name) == 0)
			return attach_node(builder, builder->anchors[i].node, event->start_mark);
	builder_error(builder, event->start_mark,
		      "unknown alias '*%s': an alias names an anchor '&%s' written before it, "
		      "outside the alias", name, name);
	return false;
}

static bool
add_event(struct tree_builder *builder, const yaml_event_t *event)
{
	switch (event->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (builder->documents++ == 0)
			return true;
		builder_error(builder, event->start_mark,
			      "a %s file holds one YAML document; a second begins here",
			      builder->file_kind);
		return false;
	case YAML_STREAM_END_EVENT:
		builder->stream_ended = true;
		return true;
	case YAML_SCALAR_EVENT:
		return add_scalar(builder, event);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return open_collection(builder, event);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_collection(builder, event);
	case YAML_ALIAS_EVENT:
		return add_alias(builder, event);
	default:
		return true; /* stream start, document end */
	}
}

static void
builder_release(struct tree_builder *builder)
{
	for (unsigned i = 0; i < builder->depth; i++)
		free(builder->open_anchors[i]);
	for (unsigned i = 0; i < builder->anchor_count; i++)
		free(builder->anchors[i].name);
}

/* Events of @p text into file->document; false with an error recorded (the document freed). */
static bool
build_tree(struct file_context *file, const char *file_kind, const struct file_text *text)
{
	struct tree_builder *builder = calloc(1, sizeof(*builder));
	yaml_parser_t parser;
	bool built = false;

	if (builder == NULL || !yaml_parser_initialize(&parser)) {
		free(builder);
		config_error(file->loader->errors, (struct config_position){file->name, 0, 0},
			     "out of memory");
		return false;
	}
	*builder = (struct tree_builder){.file = file, .file_kind = file_kind,
					 .document = &file->document};
	yaml_parser_set_input_string(&parser, text->bytes, text->length);
	if (!yaml_document_initialize(&file->document, NULL, NULL, NULL, 1, 1)) {
		config_error(file->loader->errors, (struct config_position){file->name, 0, 0},
			     "out of memory");
	} else {
		while (!builder->stream_ended) {
			yaml_event_t event;
			bool added;

			if (!yaml_parser_parse(&parser, &event)) {
				/* after `...`, libyaml wants `---`: more text is a second document all the same */
				if (builder->documents > 0 && parser.problem != NULL &&
				    strcmp(parser.problem, "did not find expected <document start>") == 0)
					builder_error(builder, parser.problem_mark,
						      "a %s file holds one YAML document; a second "
						      "begins here", file_kind);
				else
					syntax_error(file, &parser, text);
				break;
			}
			added = add_event(builder, &event);
			yaml_event_delete(&event);
			if (!added)
				break;
		}
		built = builder->stream_ended;
		if (!built)
			yaml_document_delete(&file->document);
	}
	builder_release(builder);
	free(builder);
	yaml_parser_delete(&parser);
	return built;
}

/*
 * Parse @p path into file->document.
 * @return false with an error recorded (the document is then not allocated).
 */
bool
file_load(struct loader *loader, const char *path, const char *file_kind,
	  struct file_context *file)
{
	struct file_text text;
	bool loaded;

	file->loader = loader;
	file->name = remember_file(loader, path);
	if (file->name == NULL) {
		config_error(loader->errors, (struct config_position){path, 0, 0}, "out of memory");
		return false;
	}
	if (!read_file_text(loader, file->name, &text))
		return false;
	loaded = build_tree(file, file_kind, &text);
	free(text.bytes);
	return loaded;
}
