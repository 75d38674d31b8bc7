// Batched UDP I/O for svcnet's DNS server (Linux only): the addon owns one UDP socket, watches it
// with uv_poll on Node's own loop, drains it with recvmmsg into memory shared with JS, calls ONE
// JS function per batch, and sends that batch's replies with one sendmmsg.
//
// Why: Node 20's dgram costs one recvmsg, one 'message' event with an rinfo object and one sendmsg
// per datagram (~14 µs per DNS query on loopback); batching leaves mostly the kernel's own work.
//
// Shared memory (one ArrayBuffer, offsets exported as `layout`):
//   in       SLOTS × IN_SLOT    received datagrams, slot i at i × IN_SLOT
//   out      SLOTS × OUT_SLOT   replies written by JS, slot i answers query i
//   addr     SLOTS × ADDR_STRIDE  the sources (struct sockaddr_in / sockaddr_in6) of the queries
//   lens     SLOTS × int32      received lengths; -1 marks a datagram larger than IN_SLOT (dropped)
//   outLens  SLOTS × int32      reply lengths set by JS (0: no reply); zeroed before each batch
//   stats    ST_COUNT × float64 counters, only ever increased here
//
// Sends that hit EAGAIN are copied into a bounded FIFO (QUEUE_MAX_ENTRIES / QUEUE_MAX_BYTES) and
// flushed when the socket turns writable; past the bound they are dropped and counted. Any other
// send error drops that one reply, counted. Counters that mean a loss set `dirty`, and the poll
// callback then calls the JS onEvent function once so it can update its metrics.
//
// Lifetime: the native state is referenced by its JS wrapper (until finalized), by the open socket
// (until close) and by a running poll callback. close() stops and closes the uv_poll (which removes
// the fd from epoll at once), closes the fd at once (so the port is free again synchronously), and
// frees the poll handle in the uv_close callback.
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define LAYOUT_VERSION 1
#define SLOTS 64
#define IN_SLOT 4096
#define OUT_SLOT 4096
#define ADDR_STRIDE 32
// At most this many full batches per poll callback, so a flood cannot starve timers, TCP or the
// forwarder's sockets: the fd is level-triggered, the loop comes back to it.
#define BATCHES_PER_POLL 4
#define QUEUE_MAX_ENTRIES 1024
#define QUEUE_MAX_BYTES (4u << 20)

#define OFF_IN 0
#define OFF_OUT (OFF_IN + SLOTS * IN_SLOT)
#define OFF_ADDR (OFF_OUT + SLOTS * OUT_SLOT)
#define OFF_LENS (OFF_ADDR + SLOTS * ADDR_STRIDE)
#define OFF_OUT_LENS (OFF_LENS + SLOTS * 4)
#define OFF_STATS (OFF_OUT_LENS + SLOTS * 4)

enum {
  ST_PACKETS,      // datagrams received
  ST_BATCHES,      // JS batch callbacks
  ST_TRUNCATED,    // datagrams over IN_SLOT, dropped
  ST_SENT,         // replies the kernel accepted
  ST_QUEUED,       // replies that met EAGAIN and were queued
  ST_QUEUE_FULL,   // replies that met EAGAIN with the queue full, dropped
  ST_SEND_ERRORS,  // replies refused by the kernel for another reason, dropped
  ST_RECV_ERRORS,  // failed recvmmsg calls (not EAGAIN)
  ST_COUNT
};
#define MEM_SIZE (OFF_STATS + ST_COUNT * 8)

_Static_assert(sizeof(struct sockaddr_in6) <= ADDR_STRIDE, "address slot too small");
_Static_assert(OFF_STATS % 8 == 0, "stats must be 8-byte aligned");

typedef struct queued {
  struct queued *next;
  size_t len;
  socklen_t alen;
  struct sockaddr_in6 addr;  // large enough for either family
  unsigned char data[];
} queued_t;

typedef struct sock {
  napi_env env;
  int refs;  // JS wrapper + open socket + running poll callbacks
  int fd;
  int family;
  bool closed;
  bool napi_released;
  int in_poll;
  bool watching_writable;
  bool dirty;
  uv_poll_t *poll;
  napi_ref self;  // strong while open: an open socket is never collected
  napi_ref on_batch;
  napi_ref on_event;
  napi_ref mem;
  napi_async_context actx;
  unsigned char *base;
  int32_t *lens;
  int32_t *out_lens;
  double *stats;
  queued_t *qhead, *qtail;
  size_t qlen, qbytes;
  struct mmsghdr rmsg[SLOTS];
  struct iovec riov[SLOTS];
  struct mmsghdr smsg[SLOTS];
  struct iovec siov[SLOTS];
} sock_t;

// ---- errors ----

static void throw_errno(napi_env env, const char *syscall, int err, const char *detail) {
  char msg[256];
  const char *code = uv_err_name(-err);
  snprintf(msg, sizeof msg, "%s %s%s%s", syscall, uv_strerror(-err), detail ? " " : "", detail ? detail : "");
  napi_value vcode, vmsg, error, verrno, vsys;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &vcode);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &vmsg);
  napi_create_error(env, vcode, vmsg, &error);
  napi_create_int32(env, -err, &verrno);
  napi_set_named_property(env, error, "errno", verrno);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &vsys);
  napi_set_named_property(env, error, "syscall", vsys);
  napi_throw(env, error);
}

static void rethrow_pending(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) return;
  napi_value e;
  napi_get_and_clear_last_exception(env, &e);
  // As for an event handler that throws: 'uncaughtException', by default the end of the process.
  napi_fatal_exception(env, e);
}

// ---- lifetime ----

static void unref_sock(sock_t *s) {
  if (--s->refs == 0) free(s);
}

static void free_queue(sock_t *s) {
  queued_t *q = s->qhead;
  while (q) {
    queued_t *next = q->next;
    free(q);
    q = next;
  }
  s->qhead = s->qtail = NULL;
  s->qlen = s->qbytes = 0;
}

static void on_uv_closed(uv_handle_t *h) { free(h); }

static void cleanup_hook(void *arg);

// The OS side of close: no JS, no napi calls (also used from the env cleanup hook).
static void close_os(sock_t *s) {
  if (s->closed) return;
  s->closed = true;
  s->poll->data = NULL;
  uv_close((uv_handle_t *)s->poll, on_uv_closed);
  s->poll = NULL;
  close(s->fd);
  s->fd = -1;
  free_queue(s);
}

static void release_napi(sock_t *s) {
  if (s->napi_released) return;
  s->napi_released = true;
  napi_remove_env_cleanup_hook(s->env, cleanup_hook, s);
  napi_delete_reference(s->env, s->on_batch);
  napi_delete_reference(s->env, s->on_event);
  napi_delete_reference(s->env, s->mem);
  napi_async_destroy(s->env, s->actx);
  napi_delete_reference(s->env, s->self);
}

static void cleanup_hook(void *arg) {
  sock_t *s = arg;
  // The environment is going away: release the OS resources; references die with the env.
  s->napi_released = true;
  close_os(s);
}

static void finalize(napi_env env, void *data, void *hint) {
  sock_t *s = data;
  close_os(s);  // only reachable open at env teardown
  unref_sock(s);
}

// ---- sending ----

static socklen_t addr_len(const void *sa) {
  sa_family_t fam;
  memcpy(&fam, sa, sizeof fam);
  return fam == AF_INET ? (socklen_t)sizeof(struct sockaddr_in) : (socklen_t)sizeof(struct sockaddr_in6);
}

static void start_poll(sock_t *s, int events);

// 1: queued; 2: dropped (queue full).
static int enqueue(sock_t *s, const void *data, size_t len, const void *addr, socklen_t alen) {
  if (s->qlen >= QUEUE_MAX_ENTRIES || s->qbytes + len > QUEUE_MAX_BYTES) {
    s->stats[ST_QUEUE_FULL]++;
    s->dirty = true;
    return 2;
  }
  queued_t *q = malloc(sizeof(queued_t) + len);
  if (!q) {
    s->stats[ST_QUEUE_FULL]++;
    s->dirty = true;
    return 2;
  }
  q->next = NULL;
  q->len = len;
  q->alen = alen;
  memcpy(&q->addr, addr, alen);
  memcpy(q->data, data, len);
  if (s->qtail) s->qtail->next = q;
  else s->qhead = q;
  s->qtail = q;
  s->qlen++;
  s->qbytes += len;
  s->stats[ST_QUEUED]++;
  if (!s->watching_writable) {
    s->watching_writable = true;
    start_poll(s, UV_READABLE | UV_WRITABLE);
  }
  return 1;
}

static void flush_queue(sock_t *s) {
  while (s->qhead) {
    queued_t *q = s->qhead;
    ssize_t r = sendto(s->fd, q->data, q->len, MSG_DONTWAIT, (struct sockaddr *)&q->addr, q->alen);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (r < 0) {
      s->stats[ST_SEND_ERRORS]++;
      s->dirty = true;
    } else {
      s->stats[ST_SENT]++;
    }
    s->qhead = q->next;
    if (!s->qhead) s->qtail = NULL;
    s->qlen--;
    s->qbytes -= q->len;
    free(q);
  }
  if (s->watching_writable) {
    s->watching_writable = false;
    start_poll(s, UV_READABLE);
  }
}

// Sends smsg[0..m): per-message errors drop that message; EAGAIN queues the rest.
static void send_vec(sock_t *s, int m) {
  int done = 0;
  while (done < m) {
    int r = sendmmsg(s->fd, s->smsg + done, (unsigned)(m - done), MSG_DONTWAIT);
    if (r > 0) {
      done += r;
      s->stats[ST_SENT] += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      for (; done < m; done++) {
        struct msghdr *h = &s->smsg[done].msg_hdr;
        enqueue(s, h->msg_iov[0].iov_base, h->msg_iov[0].iov_len, h->msg_name, h->msg_namelen);
      }
      return;
    }
    // sendmmsg reports an error only for the first message it could not send: that one is lost.
    s->stats[ST_SEND_ERRORS]++;
    s->dirty = true;
    done++;
  }
}

static void send_batch(sock_t *s, int n) {
  int m = 0;
  for (int i = 0; i < n; i++) {
    int32_t len = s->out_lens[i];
    if (len <= 0) continue;
    if (len > OUT_SLOT) {
      s->stats[ST_SEND_ERRORS]++;
      s->dirty = true;
      continue;
    }
    unsigned char *addr = s->base + OFF_ADDR + (size_t)i * ADDR_STRIDE;
    s->siov[m].iov_base = s->base + OFF_OUT + (size_t)i * OUT_SLOT;
    s->siov[m].iov_len = (size_t)len;
    struct msghdr *h = &s->smsg[m].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = addr;
    h->msg_namelen = addr_len(addr);
    h->msg_iov = &s->siov[m];
    h->msg_iovlen = 1;
    m++;
  }
  if (m > 0) send_vec(s, m);
}

// ---- receiving ----

static int recv_batch(sock_t *s) {
  for (int i = 0; i < SLOTS; i++) {
    s->rmsg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
    s->rmsg[i].msg_hdr.msg_flags = 0;
  }
  int n;
  do n = recvmmsg(s->fd, s->rmsg, SLOTS, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      s->stats[ST_RECV_ERRORS]++;
      s->dirty = true;
    }
    return 0;
  }
  for (int i = 0; i < n; i++) {
    s->out_lens[i] = 0;
    if (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
      s->lens[i] = -1;
      s->stats[ST_TRUNCATED]++;
      s->dirty = true;
    } else {
      s->lens[i] = (int32_t)s->rmsg[i].msg_len;
    }
  }
  s->stats[ST_PACKETS] += n;
  s->stats[ST_BATCHES]++;
  return n;
}

static void call_js(sock_t *s, napi_ref fn, int argc, int arg) {
  napi_env env = s->env;
  napi_value cb, recv, argv[1], result;
  if (napi_get_reference_value(env, fn, &cb) != napi_ok || !cb) return;
  napi_get_reference_value(env, s->self, &recv);
  napi_create_int32(env, arg, &argv[0]);
  napi_make_callback(env, s->actx, recv, cb, (size_t)argc, argv, &result);
  rethrow_pending(env);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  sock_t *s = h->data;
  if (!s || s->closed) return;
  napi_env env = s->env;
  s->refs++;
  s->in_poll++;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  if (status < 0) {
    s->stats[ST_RECV_ERRORS]++;
    s->dirty = true;
  } else {
    if (events & UV_WRITABLE) flush_queue(s);
    if (events & UV_READABLE) {
      for (int b = 0; b < BATCHES_PER_POLL && !s->closed; b++) {
        int n = recv_batch(s);
        if (n == 0) break;
        call_js(s, s->on_batch, 1, n);
        if (s->closed) break;
        send_batch(s, n);
        if (n < SLOTS) break;  // drained: skip the recvmmsg that would only say EAGAIN
      }
    }
  }
  if (!s->closed && s->dirty) {
    s->dirty = false;
    call_js(s, s->on_event, 0, 0);
  }
  napi_close_handle_scope(env, scope);
  s->in_poll--;
  int drop = 1;  // this callback's reference
  if (s->closed && s->in_poll == 0 && !s->napi_released) {
    release_napi(s);
    drop++;  // and the open socket's
  }
  s->refs -= drop;
  if (s->refs == 0) free(s);
}

static void start_poll(sock_t *s, int events) {
  if (s->poll) uv_poll_start(s->poll, events, on_poll);
}

// ---- JS API ----

static sock_t *unwrap_open(napi_env env, napi_value obj) {
  void *p = NULL;
  if (napi_unwrap(env, obj, &p) != napi_ok || !p) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a udp-batch socket");
    return NULL;
  }
  return p;
}

static bool parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return true;
  }
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (strlen(host) >= sizeof buf) return false;
  strcpy(buf, host);
  char *scope = strchr(buf, '%');
  if (scope) *scope++ = 0;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET6, buf, &a6->sin6_addr) != 1) return false;
  a6->sin6_family = AF_INET6;
  a6->sin6_port = htons((uint16_t)port);
  if (scope) {
    char *end;
    unsigned long id = strtoul(scope, &end, 10);
    a6->sin6_scope_id = *end == 0 && end != scope ? (uint32_t)id : if_nametoindex(scope);
    if (a6->sin6_scope_id == 0) return false;
  }
  *len = sizeof *a6;
  return true;
}

// open(host: string, port: number, bufferBytes: number, onBatch(n), onEvent()) → socket
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char host[128];
  size_t hostLen = 0;
  int32_t port = 0, bufBytes = 0;
  napi_valuetype t3, t4;
  if (argc < 5 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hostLen) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &bufBytes) != napi_ok ||
      napi_typeof(env, argv[3], &t3) != napi_ok || t3 != napi_function || napi_typeof(env, argv[4], &t4) != napi_ok ||
      t4 != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "open(host, port, bufferBytes, onBatch, onEvent)");
    return NULL;
  }
  if (port < 0 || port > 65535) {
    napi_throw_range_error(env, "ERR_SOCKET_BAD_PORT", "port must be 0..65535");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t slen;
  if (!parse_addr(host, port, &ss, &slen)) {
    throw_errno(env, "bind", EINVAL, "(not an IP address)");
    return NULL;
  }
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno, NULL);
    return NULL;
  }
  if (bufBytes > 0) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufBytes, sizeof bufBytes) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufBytes, sizeof bufBytes) < 0) {
      int e = errno;
      close(fd);
      throw_errno(env, "setsockopt", e, NULL);
      return NULL;
    }
  }
  char where[160];
  snprintf(where, sizeof where, "%s:%d", host, port);
  if (bind(fd, (struct sockaddr *)&ss, slen) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "bind", e, where);
    return NULL;
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "getsockname", e, NULL);
    return NULL;
  }
  int boundPort = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                   : ((struct sockaddr_in6 *)&bound)->sin6_port);

  sock_t *s = calloc(1, sizeof *s);
  uv_poll_t *poll = malloc(sizeof *poll);
  uv_loop_t *loop = NULL;
  napi_value obj, mem, name;
  void *base = NULL;
  if (!s || !poll || napi_get_uv_event_loop(env, &loop) != napi_ok || !loop ||
      napi_create_arraybuffer(env, MEM_SIZE, &base, &mem) != napi_ok) {
    free(s);
    free(poll);
    close(fd);
    throw_errno(env, "open", ENOMEM, NULL);
    return NULL;
  }
  int rc = uv_poll_init(loop, poll, fd);
  if (rc < 0) {
    free(s);
    free(poll);
    close(fd);
    throw_errno(env, "uv_poll_init", -rc, NULL);
    return NULL;
  }
  poll->data = s;
  s->env = env;
  s->fd = fd;
  s->family = ss.ss_family == AF_INET ? 4 : 6;
  s->poll = poll;
  s->base = base;
  memset(base, 0, MEM_SIZE);
  s->lens = (int32_t *)(s->base + OFF_LENS);
  s->out_lens = (int32_t *)(s->base + OFF_OUT_LENS);
  s->stats = (double *)(s->base + OFF_STATS);
  for (int i = 0; i < SLOTS; i++) {
    s->riov[i].iov_base = s->base + OFF_IN + (size_t)i * IN_SLOT;
    s->riov[i].iov_len = IN_SLOT;
    s->rmsg[i].msg_hdr.msg_name = s->base + OFF_ADDR + (size_t)i * ADDR_STRIDE;
    s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsg[i].msg_hdr.msg_iovlen = 1;
  }
  napi_create_object(env, &obj);
  napi_wrap(env, obj, s, finalize, NULL, NULL);
  s->refs = 2;  // the wrapper and the open socket
  napi_create_reference(env, obj, 1, &s->self);
  napi_create_reference(env, argv[3], 1, &s->on_batch);
  napi_create_reference(env, argv[4], 1, &s->on_event);
  napi_create_reference(env, mem, 1, &s->mem);
  napi_create_string_utf8(env, "svcnet:udp-batch", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, obj, name, &s->actx);
  napi_add_env_cleanup_hook(env, cleanup_hook, s);
  uv_poll_start(poll, UV_READABLE, on_poll);

  napi_value vport, vfam;
  napi_create_int32(env, boundPort, &vport);
  napi_create_int32(env, s->family, &vfam);
  napi_set_named_property(env, obj, "memory", mem);
  napi_set_named_property(env, obj, "port", vport);
  napi_set_named_property(env, obj, "family", vfam);
  return obj;
}

// sendTo(socket, data: Uint8Array, addr: Uint8Array) → 0 sent, 1 queued, 2 dropped (queue
// full), -errno dropped (kernel error; -EBADF once closed). Never throws for network errors.
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], ret;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "sendTo(socket, data, addr)");
    return NULL;
  }
  sock_t *s = unwrap_open(env, argv[0]);
  if (!s) return NULL;
  napi_typedarray_type t;
  size_t len = 0, alen = 0;
  void *data = NULL, *addr = NULL;
  bool ok1 = false, ok2 = false;
  napi_is_typedarray(env, argv[1], &ok1);
  napi_is_typedarray(env, argv[2], &ok2);
  if (!ok1 || !ok2 || napi_get_typedarray_info(env, argv[1], &t, &len, &data, NULL, NULL) != napi_ok ||
      t != napi_uint8_array || napi_get_typedarray_info(env, argv[2], &t, &alen, &addr, NULL, NULL) != napi_ok ||
      t != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "sendTo(socket, data: Uint8Array, addr: Uint8Array)");
    return NULL;
  }
  sa_family_t fam = 0;
  if (alen >= sizeof fam) memcpy(&fam, addr, sizeof fam);
  socklen_t need = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  if ((fam != AF_INET && fam != AF_INET6) || alen < need) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "addr is not a sockaddr_in / sockaddr_in6");
    return NULL;
  }
  int result;
  if (s->closed) {
    result = -EBADF;
  } else {
    ssize_t r;
    do r = sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)addr, need);
    while (r < 0 && errno == EINTR);
    if (r >= 0) {
      s->stats[ST_SENT]++;
      result = 0;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      result = enqueue(s, data, len, addr, need);
    } else {
      result = -errno;
      s->stats[ST_SEND_ERRORS]++;
      s->dirty = true;
    }
  }
  napi_create_int32(env, result, &ret);
  return ret;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "close(socket)");
    return NULL;
  }
  sock_t *s = unwrap_open(env, argv[0]);
  if (!s) return NULL;
  if (!s->closed) {
    close_os(s);
    // Inside a batch callback the poll callback still uses the references: it releases them.
    if (s->in_poll == 0) {
      release_napi(s);
      unref_sock(s);  // the open socket's reference
    }
  }
  return NULL;
}

static void set_int(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value x;
  napi_create_int64(env, v, &x);
  napi_set_named_property(env, obj, name, x);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value layout, fn;
  napi_create_object(env, &layout);
  set_int(env, layout, "version", LAYOUT_VERSION);
  set_int(env, layout, "slots", SLOTS);
  set_int(env, layout, "inSlot", IN_SLOT);
  set_int(env, layout, "outSlot", OUT_SLOT);
  set_int(env, layout, "addrStride", ADDR_STRIDE);
  set_int(env, layout, "offIn", OFF_IN);
  set_int(env, layout, "offOut", OFF_OUT);
  set_int(env, layout, "offAddr", OFF_ADDR);
  set_int(env, layout, "offLens", OFF_LENS);
  set_int(env, layout, "offOutLens", OFF_OUT_LENS);
  set_int(env, layout, "offStats", OFF_STATS);
  set_int(env, layout, "statCount", ST_COUNT);
  set_int(env, layout, "batchesPerPoll", BATCHES_PER_POLL);
  set_int(env, layout, "queueMaxEntries", QUEUE_MAX_ENTRIES);
  set_int(env, layout, "queueMaxBytes", QUEUE_MAX_BYTES);
  set_int(env, layout, "afInet", AF_INET);
  set_int(env, layout, "afInet6", AF_INET6);
  napi_set_named_property(env, exports, "layout", layout);
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "sendTo", NAPI_AUTO_LENGTH, js_send_to, NULL, &fn);
  napi_set_named_property(env, exports, "sendTo", fn);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, js_close, NULL, &fn);
  napi_set_named_property(env, exports, "close", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
