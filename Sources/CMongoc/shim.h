#ifndef PULSE_CMONGOC_SHIM_H
#define PULSE_CMONGOC_SHIM_H
// The MongoDB C driver (libmongoc) and its BSON library (libbson), as Debian ships them.
#include <stdlib.h>
#include <mongoc/mongoc.h>

// bson_t and bson_iter_t are 128-byte aligned, so Swift sees them as opaque: these allocate them
// with their alignment (an initialised empty document; an iterator to bson_iter_init).
static inline bson_t *pulse_bson_storage_new(void) {
    bson_t *document = aligned_alloc(128, sizeof(bson_t));
    bson_init(document);
    return document;
}

static inline void pulse_bson_storage_free(bson_t *document) {
    bson_destroy(document);
    free(document);
}

static inline bson_iter_t *pulse_bson_iter_new(void) {
    return aligned_alloc(128, sizeof(bson_iter_t));
}

static inline void pulse_bson_iter_free(bson_iter_t *iterator) {
    free(iterator);
}
#endif
