// The userspace data plane's TCP engine (issue 5): accept, connect and relay in C, with every
// decision left to TypeScript. Node's net.Socket costs ~90 µs of CPU per proxied connection in
// streams machinery alone (measured: HAProxy spends ~10 µs of user time per connection); here a
// connection costs a handful of syscalls and three JS calls (accept → pick an endpoint,
// connected, closed).
//
// Bytes move with splice(2) through a pipe per direction (pipes are pooled), so they never enter
// userspace: a bulk transfer costs the proxy almost no copying. Bytes a client sends while the
// upstream connects stay in the client socket, so a retry on another endpoint still has them.
// Half-close is carried (EOF on one side becomes shutdown(SHUT_WR) on the other); an error on
// one side resets the other (SO_LINGER 0).
//
// One epoll instance, watched by a single uv_poll on Node's loop, holds every socket of the
// engine: one epoll_ctl per socket instead of libuv's per-handle checks, and interest changes
// only under backpressure.
//
// JS API (see src/proxy/userspace/tcp-engine.ts):
//   listen(host, port, backlog, onAccept, onConnected, onFailed, onClosed) → listener
//   listenerPort(listener) → port;  stopListening(listener)
//   connect(id, ip, port) → 0 | errno;  connectTimeout(id);  reject(id);  abort(id)
// onAccept(id, srcIp) must answer with connect() or reject(); onFailed(id, errno) likewise;
// onClosed(id, errno, clientToUp, upToClient) ends a connection. reject/abort/connectTimeout
// never call back: the caller does its own bookkeeping.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

// Bytes asked of one splice call; the pipe bounds what it really moves.
#define CHUNK (1 << 20)
// A direction that has moved this much grows its pipe to BIG_PIPE (fewer calls per megabyte).
#define GROW_AFTER (256 * 1024)
#define BIG_PIPE (1 << 20)
// Splice calls per direction per event, so one busy flow cannot starve the others.
#define BUDGET 32
#define POOL_MAX 64
#define EVENTS 64

enum { ROLE_LISTENER = 1, ROLE_CLIENT = 2, ROLE_UP = 3 };
enum { ST_ACCEPTED = 1, ST_CONNECTING, ST_FAILED, ST_RELAY, ST_DONE };

typedef struct side_s {
  int role;
  void *owner;
} side_t;

typedef struct dir_s {
  int src, dst;
  int pr, pw;
  size_t in_pipe;
  int eof, shut, grown;
  int want_read, want_write;
  double bytes;
} dir_t;

typedef struct listener_s {
  side_t side;
  int fd;
  int port;
  napi_ref on_accept, on_connected, on_failed, on_closed;
  napi_ref self;
  int refs;  // the JS handle and the open socket: freed at zero
} listener_t;

typedef struct conn_s {
  side_t cside, uside;
  listener_t *l;
  double id;
  uint32_t slot;
  int state;
  int cfd, ufd;
  int cmask, umask;  // epoll interest registered (0: not in the set)
  dir_t cu, uc;      // client → upstream, upstream → client
  struct conn_s *next_dead;
} conn_t;

typedef struct engine_s {
  napi_env env;
  int epfd;
  uv_poll_t poll;
  int refd;
  long active;  // listeners open + connections alive: keeps Node's loop alive while > 0
  napi_async_context actx;
  conn_t **slots;
  uint32_t nslots, cap;
  uint32_t *free_slots;
  uint32_t nfree;
  double gen;
  int pool[POOL_MAX][2];
  int npool;
  conn_t *dead;  // closed during an event batch; freed after it
  int in_batch;
} engine_t;

static engine_t *E;

// ---- small helpers ------------------------------------------------------------------------------

static void set_active(long delta) {
  E->active += delta;
  if (E->active > 0 && !E->refd) {
    uv_ref((uv_handle_t *)&E->poll);
    E->refd = 1;
  } else if (E->active == 0 && E->refd) {
    uv_unref((uv_handle_t *)&E->poll);
    E->refd = 0;
  }
}

static void throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s %s: %s", what, uv_err_name(-err), strerror(err));
  napi_value e, code, m, no;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &e);
  napi_create_int32(env, -err, &no);
  napi_set_named_property(env, e, "errno", no);
  napi_throw(env, e);
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
    return 0;
  }
  return EINVAL;
}

static int get_pipe(int out[2]) {
  if (E->npool > 0) {
    E->npool--;
    out[0] = E->pool[E->npool][0];
    out[1] = E->pool[E->npool][1];
    return 0;
  }
  return pipe2(out, O_NONBLOCK | O_CLOEXEC) < 0 ? errno : 0;
}

static void put_pipe(dir_t *d) {
  if (d->pr < 0) return;
  if (d->in_pipe == 0 && E->npool < POOL_MAX) {
    E->pool[E->npool][0] = d->pr;
    E->pool[E->npool][1] = d->pw;
    E->npool++;
  } else {
    close(d->pr);
    close(d->pw);
  }
  d->pr = d->pw = -1;
}

static napi_value call_js(napi_ref fn_ref, int argc, napi_value *argv) {
  napi_value fn, recv, result = NULL;
  if (!fn_ref || napi_get_reference_value(E->env, fn_ref, &fn) != napi_ok || !fn) return NULL;
  napi_get_global(E->env, &recv);
  // make_callback: we are in a libuv callback, so nextTicks and microtasks the JS side queues
  // must run when it returns. An exception thrown by the callback is reported by Node.
  napi_make_callback(E->env, E->actx, recv, fn, (size_t)argc, argv, &result);
  return result;
}

// ---- connection table ---------------------------------------------------------------------------

static conn_t *conn_new(void) {
  conn_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  uint32_t slot;
  if (E->nfree > 0) {
    slot = E->free_slots[--E->nfree];
  } else {
    if (E->nslots == E->cap) {
      uint32_t cap = E->cap ? E->cap * 2 : 1024;
      conn_t **s = realloc(E->slots, cap * sizeof *s);
      uint32_t *f = realloc(E->free_slots, cap * sizeof *f);
      if (!s || !f) {
        if (s) E->slots = s;
        if (f) E->free_slots = f;
        free(c);
        return NULL;
      }
      E->slots = s;
      E->free_slots = f;
      E->cap = cap;
    }
    slot = E->nslots++;
  }
  E->slots[slot] = c;
  c->slot = slot;
  // A generation above the slot makes a stale id from JS find nothing. It wraps at 2^31 so
  // ids stay exact in a double (< 2^53) however long the process runs.
  E->gen = E->gen >= 2147483647.0 ? 1 : E->gen + 1;
  c->id = E->gen * 4194304.0 + slot;
  c->cside.role = ROLE_CLIENT;
  c->cside.owner = c;
  c->uside.role = ROLE_UP;
  c->uside.owner = c;
  c->cfd = c->ufd = -1;
  c->cu.pr = c->cu.pw = c->uc.pr = c->uc.pw = -1;
  set_active(1);
  return c;
}

static conn_t *conn_get(double id) {
  if (!E || id < 0) return NULL;
  uint32_t slot = (uint32_t)((uint64_t)id % 4194304u);
  if (slot >= E->nslots) return NULL;
  conn_t *c = E->slots[slot];
  return c && c->id == id && c->state != ST_DONE ? c : NULL;
}

static void set_mask(conn_t *c, int up, int mask) {
  int *cur = up ? &c->umask : &c->cmask;
  int fd = up ? c->ufd : c->cfd;
  if (*cur == mask || fd < 0) return;
  struct epoll_event ev = {.events = (uint32_t)mask, .data.ptr = up ? &c->uside : &c->cside};
  // Level-triggered; a side with nothing to wait for leaves the set, since EPOLLHUP/ERR would
  // otherwise be reported (and spin) whatever the mask says.
  if (mask == 0) epoll_ctl(E->epfd, EPOLL_CTL_DEL, fd, NULL);
  else epoll_ctl(E->epfd, *cur ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  *cur = mask;
}

static void close_sock(int *fd, int *mask, int reset) {
  if (*fd < 0) return;
  if (reset) {
    struct linger lg = {1, 0};
    setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(*fd);  // the only descriptor of the socket: it leaves the epoll set with it
  *fd = -1;
  *mask = 0;
}

/** Releases everything; `cb`: tell JS through onClosed. */
static void conn_close(conn_t *c, int err, int reset, int cb) {
  if (c->state == ST_DONE) return;
  int was_relay = c->state == ST_RELAY;
  c->state = ST_DONE;
  close_sock(&c->cfd, &c->cmask, reset);
  close_sock(&c->ufd, &c->umask, reset);
  put_pipe(&c->cu);
  put_pipe(&c->uc);
  E->slots[c->slot] = NULL;
  E->free_slots[E->nfree++] = c->slot;
  set_active(-1);
  if (cb) {
    napi_handle_scope scope;
    napi_open_handle_scope(E->env, &scope);
    napi_value argv[4];
    napi_create_double(E->env, c->id, &argv[0]);
    napi_create_int32(E->env, err, &argv[1]);
    napi_create_double(E->env, c->cu.bytes, &argv[2]);
    napi_create_double(E->env, c->uc.bytes, &argv[3]);
    if (was_relay || err) call_js(c->l->on_closed, 4, argv);
    napi_close_handle_scope(E->env, scope);
  }
  // Events for this connection may still be queued in the current batch: free after it.
  c->next_dead = E->dead;
  E->dead = c;
}

// ---- relay --------------------------------------------------------------------------------------

/** Moves what it can in one direction; 0 or a positive errno. */
static int step(dir_t *d) {
  d->want_read = d->want_write = 0;
  for (int i = 0; i < BUDGET; i++) {
    if (d->in_pipe > 0) {
      ssize_t n = splice(d->pr, NULL, d->dst, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        d->in_pipe -= (size_t)n;
        d->bytes += (double)n;
        if (!d->grown && d->bytes >= GROW_AFTER) {
          d->grown = 1;
          // Refused (rootless, over the per-user pipe budget): the default size still works.
          fcntl(d->pw, F_SETPIPE_SZ, BIG_PIPE);
        }
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
      d->want_read = 1;
      return 0;
    }
    return errno;
  }
  d->want_read = !d->eof;
  d->want_write = d->in_pipe > 0;
  return 0;
}

static void relay(conn_t *c) {
  int err = step(&c->cu);
  if (!err) err = step(&c->uc);
  if (err) {
    conn_close(c, err, 1, 1);
    return;
  }
  if (c->cu.shut && c->uc.shut) {
    conn_close(c, 0, 0, 1);
    return;
  }
  set_mask(c, 0, (c->cu.want_read ? EPOLLIN : 0) | (c->uc.want_write ? EPOLLOUT : 0));
  set_mask(c, 1, (c->uc.want_read ? EPOLLIN : 0) | (c->cu.want_write ? EPOLLOUT : 0));
}

static int relay_start(conn_t *c) {
  int p1[2], p2[2];
  int err = get_pipe(p1);
  if (err) return err;
  if ((err = get_pipe(p2))) {
    close(p1[0]);
    close(p1[1]);
    return err;
  }
  c->cu = (dir_t){.src = c->cfd, .dst = c->ufd, .pr = p1[0], .pw = p1[1]};
  c->uc = (dir_t){.src = c->ufd, .dst = c->cfd, .pr = p2[0], .pw = p2[1]};
  c->state = ST_RELAY;
  return 0;
}

static void on_up_connect(conn_t *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY) return;
  napi_handle_scope scope;
  napi_open_handle_scope(E->env, &scope);
  napi_value argv[2];
  napi_create_double(E->env, c->id, &argv[0]);
  if (err) {
    close_sock(&c->ufd, &c->umask, 0);
    c->state = ST_FAILED;
    napi_create_int32(E->env, err, &argv[1]);
    call_js(c->l->on_failed, 2, argv);
    // Neither a retry nor a refusal: reset, and let JS forget it through onClosed.
    if (c->state == ST_FAILED) conn_close(c, err, 1, 1);
  } else if ((err = relay_start(c))) {
    conn_close(c, err, 1, 1);
  } else {
    call_js(c->l->on_connected, 1, argv);
    // The JS side may have aborted it from the callback.
    if (c->state == ST_RELAY) relay(c);
  }
  napi_close_handle_scope(E->env, scope);
}

// ---- listeners ----------------------------------------------------------------------------------

static void listener_unref(listener_t *l) {
  if (--l->refs > 0) return;
  napi_delete_reference(E->env, l->on_accept);
  napi_delete_reference(E->env, l->on_connected);
  napi_delete_reference(E->env, l->on_failed);
  napi_delete_reference(E->env, l->on_closed);
  free(l);
}

static void listener_close(listener_t *l) {
  if (l->fd < 0) return;
  close(l->fd);  // leaves the epoll set with it
  l->fd = -1;
  set_active(-1);
  // The engine may still hold events for it in this batch; the side check below tolerates
  // fd < 0, and the memory lives until the JS handle is collected.
}

static void on_accept_ready(listener_t *l) {
  for (int i = 0; i < EVENTS && l->fd >= 0; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN; EMFILE/ENFILE leave the connection queued until descriptors free up
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_t *c = conn_new();
    if (!c) {
      close(fd);
      continue;
    }
    c->l = l;
    l->refs++;  // the listener outlives its connections (they call its callbacks)
    c->cfd = fd;
    c->state = ST_ACCEPTED;
    char ip[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET)
      inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
    else if (ss.ss_family == AF_INET6)
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
    napi_handle_scope scope;
    napi_open_handle_scope(E->env, &scope);
    napi_value argv[2];
    napi_create_double(E->env, c->id, &argv[0]);
    napi_create_string_latin1(E->env, ip, NAPI_AUTO_LENGTH, &argv[1]);
    call_js(l->on_accept, 2, argv);
    napi_close_handle_scope(E->env, scope);
    // The decision is synchronous (connect or reject inside the callback); a callback that
    // threw or decided nothing must not leave the client hanging: reset it.
    if (c->state == ST_ACCEPTED) conn_close(c, 0, 1, 0);
  }
}

// ---- the engine's poll --------------------------------------------------------------------------

static void free_dead(void) {
  while (E->dead) {
    conn_t *c = E->dead;
    E->dead = c->next_dead;
    listener_unref(c->l);
    free(c);
  }
}

static void on_engine(uv_poll_t *h, int status, int events) {
  (void)h;
  (void)status;
  (void)events;
  struct epoll_event evs[EVENTS];
  E->in_batch = 1;
  for (int round = 0; round < 4; round++) {
    int n = epoll_wait(E->epfd, evs, EVENTS, 0);
    for (int i = 0; i < n; i++) {
      side_t *s = (side_t *)evs[i].data.ptr;
      if (s->role == ROLE_LISTENER) {
        listener_t *l = (listener_t *)s->owner;
        if (l->fd >= 0) on_accept_ready(l);
        continue;
      }
      conn_t *c = (conn_t *)s->owner;
      if (c->state == ST_CONNECTING && s->role == ROLE_UP) on_up_connect(c);
      else if (c->state == ST_RELAY) relay(c);
    }
    free_dead();
    if (n < EVENTS) break;
  }
  E->in_batch = 0;
}

static int engine_init(napi_env env) {
  if (E) return 0;
  engine_t *e = calloc(1, sizeof *e);
  if (!e) return ENOMEM;
  e->env = env;
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (e->epfd < 0) {
    int err = errno;
    free(e);
    return err;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &e->poll, e->epfd) < 0) {
    close(e->epfd);
    free(e);
    return EIO;
  }
  napi_value name;
  napi_create_string_utf8(env, "svcnet.tcpRelay", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &e->actx);
  E = e;
  uv_poll_start(&e->poll, UV_READABLE, on_engine);
  uv_unref((uv_handle_t *)&e->poll);
  return 0;
}

// ---- JS bindings --------------------------------------------------------------------------------

#define ARGS(n)                                                \
  size_t argc = n;                                             \
  napi_value argv[n];                                          \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);        \
  if (argc < n) {                                              \
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "missing arguments"); \
    return NULL;                                               \
  }

static void on_listener_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  listener_t *l = (listener_t *)data;
  listener_close(l);
  listener_unref(l);
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  ARGS(7)
  char host[64];
  int32_t port, backlog;
  size_t hl;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &backlog) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "listen(host, port, backlog, callbacks…)");
    return NULL;
  }
  int err = engine_init(env);
  if (err) {
    throw_errno(env, "engine", err);
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len;
  if (parse_addr(host, port, &ss, &len)) {
    throw_errno(env, "listen", EINVAL);
    return NULL;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "listen", errno);
    return NULL;
  }
  int one = 1;
  // As libuv does for Node's servers.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
    err = errno;
    close(fd);
    char what[96];
    snprintf(what, sizeof what, "listen %s:%d", host, port);
    throw_errno(env, what, err);
    return NULL;
  }
  listener_t *l = calloc(1, sizeof *l);
  if (!l) {
    close(fd);
    throw_errno(env, "listen", ENOMEM);
    return NULL;
  }
  l->side.role = ROLE_LISTENER;
  l->side.owner = l;
  l->fd = fd;
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bl);
  l->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                              : ((struct sockaddr_in *)&bound)->sin_port);
  napi_create_reference(env, argv[3], 1, &l->on_accept);
  napi_create_reference(env, argv[4], 1, &l->on_connected);
  napi_create_reference(env, argv[5], 1, &l->on_failed);
  napi_create_reference(env, argv[6], 1, &l->on_closed);
  // Connections keep a pointer to their listener: it lives until its handle is collected and
  // no connection needs it (connections hold no count; the JS side keeps the handle while any
  // connection of it is alive).
  l->refs = 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->side};
  epoll_ctl(E->epfd, EPOLL_CTL_ADD, fd, &ev);
  set_active(1);
  napi_value self;
  napi_create_external(env, l, on_listener_finalize, NULL, &self);
  return self;
}

static listener_t *listener_arg(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a listener");
    return NULL;
  }
  return (listener_t *)data;
}

static napi_value js_listener_port(napi_env env, napi_callback_info info) {
  ARGS(1)
  listener_t *l = listener_arg(env, argv[0]);
  if (!l) return NULL;
  napi_value r;
  napi_create_int32(env, l->port, &r);
  return r;
}

static napi_value js_stop_listening(napi_env env, napi_callback_info info) {
  ARGS(1)
  listener_t *l = listener_arg(env, argv[0]);
  if (l) listener_close(l);
  return NULL;
}

static conn_t *conn_arg(napi_env env, napi_value v) {
  double id;
  if (napi_get_value_double(env, v, &id) != napi_ok) return NULL;
  return conn_get(id);
}

static napi_value js_connect(napi_env env, napi_callback_info info) {
  ARGS(3)
  conn_t *c = conn_arg(env, argv[0]);
  napi_value r;
  if (!c || c->state == ST_RELAY || c->state == ST_CONNECTING) {
    napi_create_int32(env, EBADF, &r);
    return r;
  }
  char host[64];
  size_t hl;
  int32_t port;
  napi_get_value_string_utf8(env, argv[1], host, sizeof host, &hl);
  napi_get_value_int32(env, argv[2], &port);
  struct sockaddr_storage ss;
  socklen_t len;
  int err = parse_addr(host, port, &ss, &len);
  int fd = -1;
  if (!err) {
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) err = errno;
  }
  if (!err) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) err = errno;
  }
  if (err) {
    if (fd >= 0) close(fd);
    c->state = ST_FAILED;
    napi_create_int32(env, err, &r);
    return r;
  }
  c->ufd = fd;
  c->state = ST_CONNECTING;
  // Writable = connected (or failed): one event, whether connect() finished at once or not.
  set_mask(c, 1, EPOLLOUT);
  napi_create_int32(env, 0, &r);
  return r;
}

static napi_value js_connect_timeout(napi_env env, napi_callback_info info) {
  ARGS(1)
  conn_t *c = conn_arg(env, argv[0]);
  if (c && c->state == ST_CONNECTING) {
    close_sock(&c->ufd, &c->umask, 1);
    c->state = ST_FAILED;
  }
  return NULL;
}

/** reject (RST to the client) and abort (plain close): no callback, the caller keeps books. */
static napi_value close_by_id(napi_env env, napi_callback_info info, int reset) {
  ARGS(1)
  conn_t *c = conn_arg(env, argv[0]);
  if (c) conn_close(c, 0, reset, 0);
  if (!E->in_batch) free_dead();
  return NULL;
}

static napi_value js_reject(napi_env env, napi_callback_info info) { return close_by_id(env, info, 1); }

static napi_value js_abort(napi_env env, napi_callback_info info) { return close_by_id(env, info, 0); }

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_default, NULL},
      {"listenerPort", NULL, js_listener_port, NULL, NULL, NULL, napi_default, NULL},
      {"stopListening", NULL, js_stop_listening, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
      {"connectTimeout", NULL, js_connect_timeout, NULL, NULL, NULL, napi_default, NULL},
      {"reject", NULL, js_reject, NULL, NULL, NULL, napi_default, NULL},
      {"abort", NULL, js_abort, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
