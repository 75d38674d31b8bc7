// A TCP connection made from inside another network namespace, for `kubectl port-forward`: the
// kubelet dials the pod's own loopback from within the pod's namespace. A socket belongs to the
// namespace it was created in, so the calling thread enters the namespace (setns affects only
// that thread), creates the socket, and returns to its own namespace before connecting; Node
// then owns the connected descriptor. The connect is to a loopback address of the namespace, so
// blocking on it costs nothing: it succeeds or is refused at once.
//
// JS API (see src/kernel/netns-connect.ts):
//   connect(nsPath, ip, port) → fd (≥ 0) | -errno
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <node_api.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_in(const char *ns_path, const char *ip, int port) {
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    len = sizeof *a6;
  } else {
    return -EINVAL;
  }
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return -errno;
  int target = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(self);
    return -e;
  }
  int fd = -1, err = 0;
  if (setns(target, CLONE_NEWNET) < 0) {
    err = errno;
  } else {
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) err = errno;
    // Back home whatever happened: the rest of this thread must not run in the pod's namespace.
    if (setns(self, CLONE_NEWNET) < 0) {
      if (fd >= 0) close(fd);
      close(self);
      close(target);
      return -EIO;
    }
  }
  close(self);
  close(target);
  if (fd < 0) return -err;
  if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
    err = errno;
    close(fd);
    return -err;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char ns_path[4096], ip[64];
  size_t n;
  int32_t port = 0;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], ns_path, sizeof ns_path, &n) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], ip, sizeof ip, &n) != napi_ok ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "connect(nsPath, ip, port)");
    return NULL;
  }
  napi_value r;
  napi_create_int32(env, connect_in(ns_path, ip, port), &r);
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
