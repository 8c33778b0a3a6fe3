/* csv_sink.c - CSV output of the simulators, plain or gzip compressed by worker threads; see csv_sink.h.
 * (One gzopen stream was the bottleneck: level 1 deflates simulator rows at about 45 MB/s on one core,
 * half the speed of generating them.) */
#include "gen/csv_sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/error.h"

enum { SLOT_FREE, SLOT_FILLING, SLOT_FILLED, SLOT_BUSY, SLOT_DONE };

/* One gzip member of slot->in at level 1. */
static void compress_slot(mtr_csv_slot *slot) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    slot->zerr = deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY); /* 15 + 16: gzip wrapper */
    if (slot->zerr != Z_OK) return;
    zs.next_in = (unsigned char *)slot->in;
    zs.avail_in = (uInt)slot->in_len;
    zs.next_out = slot->out;
    zs.avail_out = (uInt)slot->out_cap;
    int rc = deflate(&zs, Z_FINISH);
    slot->zerr = rc == Z_STREAM_END ? Z_OK : (rc == Z_OK ? Z_BUF_ERROR : rc);
    slot->out_len = slot->out_cap - zs.avail_out;
    deflateEnd(&zs);
}

static void *worker_main(void *arg) {
    mtr_csv_out *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        mtr_csv_slot *job = NULL;
        for (int i = 0; i < s->n_slots; i++)
            if (s->slot[i].state == SLOT_FILLED && (!job || s->slot[i].seq < job->seq)) job = &s->slot[i];
        if (!job) {
            if (s->stop) break;
            pthread_cond_wait(&s->work, &s->mu);
            continue;
        }
        job->state = SLOT_BUSY;
        pthread_mutex_unlock(&s->mu);
        compress_slot(job);
        pthread_mutex_lock(&s->mu);
        job->state = SLOT_DONE;
        pthread_cond_broadcast(&s->done);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int write_bytes(mtr_csv_out *s, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, s->f) != n) {
        if (!s->error[0]) snprintf(s->error, sizeof s->error, "write failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Write compressed chunks in file order as long as the next one is done; with `wait`, first wait for the
 * next one if there is one. Called by the generating thread only. */
static int drain(mtr_csv_out *s, int wait) {
    for (;;) {
        mtr_csv_slot *next = NULL;
        int state = SLOT_FREE;
        pthread_mutex_lock(&s->mu);
        for (;;) {
            next = NULL;
            for (int i = 0; i < s->n_slots; i++) {
                int st = s->slot[i].state;
                if (st != SLOT_FREE && st != SLOT_FILLING && s->slot[i].seq == s->write_seq) next = &s->slot[i];
            }
            state = next ? next->state : SLOT_FREE;
            if (!next || state == SLOT_DONE || !wait) break;
            pthread_cond_wait(&s->done, &s->mu);
        }
        pthread_mutex_unlock(&s->mu);
        if (state != SLOT_DONE) return 0;
        wait = 0;
        if (next->zerr != Z_OK) {
            snprintf(s->error, sizeof s->error, "gzip compression failed (zlib error %d)", next->zerr);
            return -1;
        }
        if (write_bytes(s, next->out, next->out_len) != 0) return -1;
        s->write_seq++;
        pthread_mutex_lock(&s->mu);
        next->state = SLOT_FREE;
        pthread_mutex_unlock(&s->mu);
    }
}

/* Give up the slot being filled: to the workers, or compressed here without workers, or freed when
 * empty. */
static void hand_over(mtr_csv_out *s) {
    mtr_csv_slot *slot = s->fill;
    s->fill = NULL;
    if (slot->in_len > 0) {
        slot->seq = s->next_seq++;
        if (s->n_threads == 0) compress_slot(slot);
    }
    pthread_mutex_lock(&s->mu);
    slot->state = slot->in_len == 0 ? SLOT_FREE : s->n_threads == 0 ? SLOT_DONE : SLOT_FILLED;
    if (slot->state == SLOT_FILLED) pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
}

/* Hand over the slot being filled, then find a free slot to fill. */
static int submit_chunk(mtr_csv_out *s) {
    hand_over(s);
    for (;;) {
        if (drain(s, 0) != 0) return -1;
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < s->n_slots && !s->fill; i++)
            if (s->slot[i].state == SLOT_FREE) s->fill = &s->slot[i];
        if (s->fill) {
            s->fill->state = SLOT_FILLING;
            s->fill->in_len = 0;
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
        pthread_mutex_unlock(&s->mu);
        if (drain(s, 1) != 0) return -1; /* every slot is in flight: wait for the oldest */
    }
}

int mtr_csv_out_write(mtr_csv_out *s, const char *p, size_t n) {
    if (!s->gz) {
        if (s->len + n > MTR_CSV_CHUNK) {
            if (write_bytes(s, s->buf, s->len) != 0) return -1;
            s->len = 0;
        }
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        return 0;
    }
    if (s->fill->in_len + n > MTR_CSV_CHUNK && submit_chunk(s) != 0) return -1;
    memcpy(s->fill->in + s->fill->in_len, p, n);
    s->fill->in_len += n;
    return 0;
}

/* Stop the workers and free the buffers. */
static void sink_close(mtr_csv_out *s) {
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->work);
        pthread_mutex_unlock(&s->mu);
        for (int i = 0; i < s->started; i++) pthread_join(s->threads[i], NULL);
    }
    for (int i = 0; i < s->n_slots; i++) {
        free(s->slot[i].in);
        free(s->slot[i].out);
    }
    free(s->buf);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->done);
}

static int sink_open(mtr_csv_out *s, mtr_error *err) {
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->done, NULL);
    if (!s->gz) {
        s->buf = malloc(MTR_CSV_CHUNK);
        return s->buf ? 0 : mtr_fail(err, "out of memory for the output buffer");
    }
    s->n_slots = 2 * s->n_threads + 2; /* each worker busy with one and one queued, one filling, one writing */
    uLong bound = compressBound(MTR_CSV_CHUNK) + 64; /* the gzip wrapper is 12 bytes more than zlib's */
    for (int i = 0; i < s->n_slots; i++) {
        mtr_csv_slot *slot = &s->slot[i];
        slot->in = malloc(MTR_CSV_CHUNK);
        slot->out_cap = bound;
        slot->out = malloc(bound);
        if (!slot->in || !slot->out) return mtr_fail(err, "out of memory for the gzip buffers");
    }
    s->fill = &s->slot[0];
    s->fill->state = SLOT_FILLING;
    for (int i = 0; i < s->n_threads; i++) {
        if (pthread_create(&s->threads[i], NULL, worker_main, s) != 0)
            return mtr_fail(err, "cannot start compression thread %d of %d", i + 1, s->n_threads);
        s->started++;
    }
    return 0;
}

/* Everything pending out: the last chunk, then all chunks in order. */
static int sink_finish(mtr_csv_out *s) {
    if (!s->gz) {
        int rc = write_bytes(s, s->buf, s->len);
        s->len = 0;
        return rc;
    }
    hand_over(s);
    while (s->write_seq < s->next_seq)
        if (drain(s, 1) != 0) return -1;
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int mtr_csv_out_open(mtr_csv_out *o, const char *path, int n_threads, mtr_error *err) {
    memset(o, 0, sizeof *o);
    o->path = path;
    o->to_stdout = strcmp(path, "-") == 0;
    o->gz = !o->to_stdout && ends_with(path, ".gz");
    o->n_threads = o->gz ? n_threads : 0;
    if (!o->to_stdout && mtr_atomic_open(&o->af, path, err) != 0) return -1;
    o->f = o->to_stdout ? stdout : o->af.f;
    if (sink_open(o, err) != 0) {
        mtr_fail_prefix(err, "%s", path);
        sink_close(o);
        if (!o->to_stdout) mtr_atomic_abort(&o->af);
        return -1;
    }
    return 0;
}

int mtr_csv_out_close(mtr_csv_out *o, int rc, mtr_error *err) {
    if (rc == 0) rc = sink_finish(o);
    if (rc != 0 && o->error[0]) mtr_fail(err, "%s: %s", o->to_stdout ? "standard output" : o->path, o->error);
    sink_close(o);
    if (o->to_stdout) {
        if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
            rc = mtr_fail(err, "standard output: write failed");
    } else if (rc == 0) {
        rc = mtr_atomic_commit(&o->af, err);
    } else {
        mtr_atomic_abort(&o->af);
    }
    return rc;
}
