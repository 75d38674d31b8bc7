// Raw Ethernet frames on one interface (AF_PACKET), for the layer 2 announcer: it must answer ARP
// requests and NDP solicitations for addresses no interface holds, which the kernel never does.
// This file only moves bytes; every decision (what to answer, when to send gratuitous ARP) is in
// TypeScript (src/announcer/layer2). Readiness comes from a libuv poll handle on Node's own loop,
// so frames are read when they arrive, without timers.
//
// JS API (see src/kernel/packet-socket.ts):
//   open(ifname, ethertype) → fd | -errno       bound to the interface, non-blocking, allmulti
//   ifinfo(ifname) → [ifindex, Buffer(6) mac] | -errno
//   recv(fd, buffer) → bytes | -errno            -EAGAIN when nothing is queued
//   send(fd, buffer) → bytes | -errno            a whole frame, Ethernet header included
//   watch(fd, callback) → id                     callback() whenever fd is readable
//   unwatch(id)                                  stops the poll handle (then close the fd)
//   close(fd)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

static napi_value num(napi_env env, int v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

static int str_arg(napi_env env, napi_value v, char *out, size_t cap) {
  size_t n;
  return napi_get_value_string_utf8(env, v, out, cap, &n) == napi_ok && n > 0 && n < cap;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[IFNAMSIZ];
  int32_t proto = 0;
  if (argc < 2 || !str_arg(env, argv[0], name, sizeof name) || napi_get_value_int32(env, argv[1], &proto) != napi_ok) {
    napi_throw_type_error(env, NULL, "open(ifname, ethertype)");
    return NULL;
  }
  unsigned idx = if_nametoindex(name);
  if (idx == 0) return num(env, -errno);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons((uint16_t)proto));
  if (fd < 0) return num(env, -errno);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)proto);
  sll.sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  // Solicited-node multicast (NDP) must reach us without joining every group one by one.
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = (int)idx;
  mr.mr_type = PACKET_MR_ALLMULTI;
  setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  return num(env, fd);
}

static napi_value js_ifinfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[IFNAMSIZ];
  if (argc < 1 || !str_arg(env, argv[0], name, sizeof name)) {
    napi_throw_type_error(env, NULL, "ifinfo(ifname)");
    return NULL;
  }
  unsigned idx = if_nametoindex(name);
  if (idx == 0) return num(env, -errno);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  int rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
  int e = errno;
  close(fd);
  if (rc < 0) return num(env, -e);
  napi_value arr, mac;
  void *data;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_buffer_copy(env, 6, ifr.ifr_hwaddr.sa_data, &data, &mac);
  napi_set_element(env, arr, 0, num(env, (int)idx));
  napi_set_element(env, arr, 1, mac);
  return arr;
}

static int fd_and_buffer(napi_env env, napi_callback_info info, int32_t *fd, void **data, size_t *len) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc >= 2 && napi_get_value_int32(env, argv[0], fd) == napi_ok &&
         napi_get_buffer_info(env, argv[1], data, len) == napi_ok;
}

static napi_value js_recv(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *data;
  size_t len;
  if (!fd_and_buffer(env, info, &fd, &data, &len)) {
    napi_throw_type_error(env, NULL, "recv(fd, buffer)");
    return NULL;
  }
  ssize_t n = recv(fd, data, len, MSG_DONTWAIT);
  return num(env, n < 0 ? -errno : (int)n);
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *data;
  size_t len;
  if (!fd_and_buffer(env, info, &fd, &data, &len)) {
    napi_throw_type_error(env, NULL, "send(fd, buffer)");
    return NULL;
  }
  ssize_t n = send(fd, data, len, MSG_DONTWAIT);
  return num(env, n < 0 ? -errno : (int)n);
}

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int id;
} watcher;

#define MAX_WATCHERS 256
static watcher *watchers[MAX_WATCHERS];

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  watcher *w = (watcher *)h->data;
  napi_handle_scope scope;
  napi_open_handle_scope(w->env, &scope);
  napi_value cb, global, result;
  napi_get_reference_value(w->env, w->callback, &cb);
  napi_get_global(w->env, &global);
  // make_callback (not call_function) so microtasks queued by the callback run, as for any I/O.
  napi_make_callback(w->env, w->async, global, cb, 0, NULL, &result);
  napi_close_handle_scope(w->env, scope);
}

static void on_closed(uv_handle_t *h) {
  watcher *w = (watcher *)h->data;
  napi_delete_reference(w->env, w->callback);
  napi_async_destroy(w->env, w->async);
  free(w);
}

static napi_value js_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  napi_valuetype t;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_typeof(env, argv[1], &t) != napi_ok ||
      t != napi_function) {
    napi_throw_type_error(env, NULL, "watch(fd, callback)");
    return NULL;
  }
  int id = -1;
  for (int i = 0; i < MAX_WATCHERS; i++)
    if (!watchers[i]) {
      id = i;
      break;
    }
  if (id < 0) return num(env, -EMFILE);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  watcher *w = calloc(1, sizeof *w);
  if (!w) return num(env, -ENOMEM);
  w->env = env;
  w->id = id;
  w->poll.data = w;
  if (uv_poll_init_socket(loop, &w->poll, fd) != 0) {
    free(w);
    return num(env, -EINVAL);
  }
  napi_create_reference(env, argv[1], 1, &w->callback);
  napi_value resource_name;
  napi_create_string_utf8(env, "svcnet:packet-socket", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &w->async);
  uv_poll_start(&w->poll, UV_READABLE, on_readable);
  watchers[id] = w;
  return num(env, id);
}

static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t id;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &id) != napi_ok || id < 0 || id >= MAX_WATCHERS ||
      !watchers[id])
    return num(env, -EINVAL);
  watcher *w = watchers[id];
  watchers[id] = NULL;
  uv_poll_stop(&w->poll);
  uv_close((uv_handle_t *)&w->poll, on_closed);
  return num(env, 0);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return num(env, -EINVAL);
  return num(env, close(fd) < 0 ? -errno : 0);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"ifinfo", NULL, js_ifinfo, NULL, NULL, NULL, napi_default, NULL},
      {"recv", NULL, js_recv, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"watch", NULL, js_watch, NULL, NULL, NULL, napi_default, NULL},
      {"unwatch", NULL, js_unwatch, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
