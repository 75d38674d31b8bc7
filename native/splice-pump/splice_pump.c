// Zero-copy relay of an established TCP connection pair with splice(2), for the userspace data
// plane's bulk flows (issue 5). Node's relay copies every byte twice through userspace (read
// into a fresh 64 KiB Buffer, write it out); splice moves page references socket → pipe →
// socket inside the kernel, so a long transfer costs the proxy almost no copying.
//
// The JS side keeps the policy (endpoint choice, retries, when to promote a flow); this file only
// pumps bytes. pump(fdA, fdB, cb) dup()s both descriptors (Node keeps owning the originals and
// must have stopped reading them), watches the dups with uv_poll on Node's loop, and relays both
// directions until both have ended, preserving half-close (EOF on one side becomes
// shutdown(SHUT_WR) on the other). cb(errno, bytesAtoB, bytesBtoA) runs once; errno is 0 for a
// clean finish. abort(handle) stops a pump early without calling cb.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

// Bytes moved per splice call at most; the pipe is grown to this size when the kernel allows.
#define CHUNK (1 << 20)
// Splice calls per readiness callback, so one busy flow cannot starve the event loop.
#define BUDGET 32

typedef struct dir_s {
  int src, dst;     // dup'd socket descriptors
  int pr, pw;       // pipe read / write ends
  size_t in_pipe;   // bytes sitting in the pipe
  int eof;          // src reached EOF (and dst was shut down once the pipe emptied)
  int shut;         // dst already shut down for writing
  int want_read;    // blocked on src readable
  int want_write;   // blocked on dst writable
  double bytes;
} dir_t;

typedef struct pump_s {
  napi_env env;
  napi_ref cb;
  napi_async_context actx;
  uv_poll_t poll_a, poll_b;
  int fd_a, fd_b;
  dir_t ab, ba;
  int closing;      // polls stopped, fds closed; waiting for uv_close callbacks
  int refs;         // the two poll handles and the JS handle object: freed at zero
  int finished;     // cb already called or abort requested
  napi_ref self;    // keeps the JS handle object alive while pumping
} pump_t;

static void on_poll(uv_poll_t *h, int status, int events);

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void unref(pump_t *p) {
  if (--p->refs == 0) free(p);
}

static void on_closed(uv_handle_t *h) { unref((pump_t *)h->data); }

// The JS handle may outlive the pump (abort() after the callback must stay safe), so the
// memory goes only when the handle is collected as well.
static void on_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  unref((pump_t *)data);
}

/** Stops watching, closes every descriptor this pump owns, and releases its JS references. */
static void teardown(pump_t *p) {
  if (p->closing) return;
  p->closing = 1;
  uv_poll_stop(&p->poll_a);
  uv_poll_stop(&p->poll_b);
  close_fd(&p->fd_a);
  close_fd(&p->fd_b);
  close_fd(&p->ab.pr);
  close_fd(&p->ab.pw);
  close_fd(&p->ba.pr);
  close_fd(&p->ba.pw);
  if (p->cb) napi_delete_reference(p->env, p->cb);
  p->cb = NULL;
  if (p->self) napi_delete_reference(p->env, p->self);
  p->self = NULL;
  if (p->actx) napi_async_destroy(p->env, p->actx);
  p->actx = NULL;
  uv_close((uv_handle_t *)&p->poll_a, on_closed);
  uv_close((uv_handle_t *)&p->poll_b, on_closed);
}

static void finish(pump_t *p, int err) {
  if (p->finished) return;
  p->finished = 1;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb = NULL, recv, argv[3];
  if (p->cb) napi_get_reference_value(env, p->cb, &cb);
  napi_get_global(env, &recv);  // make_callback wants an object as receiver
  napi_create_int32(env, err, &argv[0]);
  napi_create_double(env, p->ab.bytes, &argv[1]);
  napi_create_double(env, p->ba.bytes, &argv[2]);
  napi_async_context actx = p->actx;
  p->actx = NULL;  // teardown must not destroy it before the callback ran
  teardown(p);
  if (cb) {
    napi_value result;
    // make_callback (not call_function): we are in a libuv callback, so nextTicks and
    // microtasks queued by the JS callback must run when it returns.
    napi_make_callback(env, actx, recv, cb, 3, argv, &result);
  }
  if (actx) napi_async_destroy(env, actx);
  napi_close_handle_scope(env, scope);
}

/** Moves what it can in one direction; returns 0 or a positive errno. */
static int step(dir_t *d) {
  d->want_read = d->want_write = 0;
  for (int i = 0; i < BUDGET; i++) {
    if (d->in_pipe > 0) {
      ssize_t n = splice(d->pr, NULL, d->dst, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        d->in_pipe -= (size_t)n;
        d->bytes += (double)n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        d->want_write = 1;
        return 0;
      }
      return n < 0 ? errno : EPIPE;
    }
    if (d->eof) {
      if (!d->shut) {
        d->shut = 1;
        // The peer may already be gone; its error shows up on the other direction if it matters.
        shutdown(d->dst, SHUT_WR);
      }
      return 0;
    }
    ssize_t n = splice(d->src, NULL, d->pw, NULL, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      d->in_pipe += (size_t)n;
      continue;
    }
    if (n == 0) {
      d->eof = 1;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      // EAGAIN from the socket (nothing to read) or from a full pipe (in_pipe is then > 0 and
      // the loop above would have run first), so this is "wait for readable".
      d->want_read = 1;
      return 0;
    }
    return errno;
  }
  // Budget spent with work left: ask for both so level-triggered polling brings us back.
  d->want_read = !d->eof;
  d->want_write = d->in_pipe > 0;
  return 0;
}

static int done(const dir_t *d) { return d->eof && d->in_pipe == 0 && d->shut; }

static void run(pump_t *p) {
  int err = step(&p->ab);
  if (!err) err = step(&p->ba);
  if (err) {
    finish(p, err);
    return;
  }
  if (done(&p->ab) && done(&p->ba)) {
    finish(p, 0);
    return;
  }
  int ea = (p->ab.want_read ? UV_READABLE : 0) | (p->ba.want_write ? UV_WRITABLE : 0);
  int eb = (p->ba.want_read ? UV_READABLE : 0) | (p->ab.want_write ? UV_WRITABLE : 0);
  // A direction with nothing to wait for but not done cannot happen; an idle side is unwatched.
  if (ea) uv_poll_start(&p->poll_a, ea, on_poll);
  else uv_poll_stop(&p->poll_a);
  if (eb) uv_poll_start(&p->poll_b, eb, on_poll);
  else uv_poll_stop(&p->poll_b);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  pump_t *p = (pump_t *)h->data;
  if (p->closing) return;
  if (status < 0) {
    finish(p, -status);
    return;
  }
  run(p);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char code[32], msg[160];
  const char *name = err == EBADF ? "EBADF" : err == EMFILE ? "EMFILE" : err == ENFILE ? "ENFILE" : "EIO";
  snprintf(code, sizeof code, "%s", name);
  snprintf(msg, sizeof msg, "splice-pump %s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

static int make_pipe(dir_t *d) {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return errno;
  d->pr = fds[0];
  d->pw = fds[1];
  // A bigger pipe means fewer splice calls per megabyte; the default (64 KiB) still works if
  // the per-user pipe limit refuses it.
  fcntl(d->pw, F_SETPIPE_SZ, CHUNK);
  return 0;
}

// pump(fdA: number, fdB: number, cb: (errno, aToB, bToA) => void): object
static napi_value pump(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "pump(fdA, fdB, callback)");
    return NULL;
  }
  int32_t a, b;
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  if (napi_get_value_int32(env, argv[0], &a) != napi_ok || napi_get_value_int32(env, argv[1], &b) != napi_ok ||
      t != napi_function || a < 0 || b < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "pump(fdA, fdB, callback): two descriptors and a function");
    return NULL;
  }
  pump_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "alloc", ENOMEM);
  p->env = env;
  p->fd_a = p->fd_b = p->ab.pr = p->ab.pw = p->ba.pr = p->ba.pw = -1;
  int err = 0;
  if ((p->fd_a = fcntl(a, F_DUPFD_CLOEXEC, 0)) < 0 || (p->fd_b = fcntl(b, F_DUPFD_CLOEXEC, 0)) < 0) err = errno;
  if (!err) err = make_pipe(&p->ab);
  if (!err) err = make_pipe(&p->ba);
  uv_loop_t *loop = NULL;
  if (!err && napi_get_uv_event_loop(env, &loop) != napi_ok) err = EIO;
  if (!err && (uv_poll_init_socket(loop, &p->poll_a, p->fd_a) < 0 || uv_poll_init_socket(loop, &p->poll_b, p->fd_b) < 0))
    err = EBADF;
  if (err) {
    close_fd(&p->fd_a);
    close_fd(&p->fd_b);
    close_fd(&p->ab.pr);
    close_fd(&p->ab.pw);
    close_fd(&p->ba.pr);
    close_fd(&p->ba.pw);
    free(p);
    return throw_errno(env, "start", err);
  }
  p->poll_a.data = p->poll_b.data = p;
  p->ab.src = p->fd_a;
  p->ab.dst = p->fd_b;
  p->ba.src = p->fd_b;
  p->ba.dst = p->fd_a;
  napi_create_reference(env, argv[2], 1, &p->cb);
  napi_value name;
  napi_create_string_utf8(env, "svcnet.splicePump", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &p->actx);
  p->refs = 3;
  napi_create_external(env, p, on_finalize, NULL, &self);
  napi_create_reference(env, self, 1, &p->self);
  // Readable on both first: whatever the sockets already hold is moved on the next loop turn
  // (never from inside this call, so the callback cannot run before pump() has returned).
  p->ab.want_read = p->ba.want_read = 1;
  uv_poll_start(&p->poll_a, UV_READABLE, on_poll);
  uv_poll_start(&p->poll_b, UV_READABLE, on_poll);
  return self;
}

// abort(handle): stops the pump, closes its descriptors, never calls the callback.
static napi_value abort_pump(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "abort(handle)");
    return NULL;
  }
  pump_t *p = (pump_t *)data;
  if (!p->finished) {
    p->finished = 1;
    teardown(p);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "pump", NAPI_AUTO_LENGTH, pump, NULL, &fn);
  napi_set_named_property(env, exports, "pump", fn);
  napi_create_function(env, "abort", NAPI_AUTO_LENGTH, abort_pump, NULL, &fn);
  napi_set_named_property(env, exports, "abort", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
