// Pseudo-terminals for `kubectl exec -t`: Node cannot open one, so this addon does the two
// calls it needs and nothing else. The child is spawned by Node with the slave as its stdio
// (under `setsid --ctty`, so the terminal becomes its controlling one); the parent keeps the
// master, reads and writes it as a tty stream, and resizes it on the client's resize messages.
//
// JS API (see src/kernel/pty.ts):
//   open(cols, rows) → [masterFd, slaveFd]   both close-on-exec; the master non-blocking
//   resize(masterFd, cols, rows) → 0 | errno
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static int32_t arg_i32(napi_env env, napi_value v) {
  int32_t n = 0;
  napi_get_value_int32(env, v, &n);
  return n;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct winsize ws = {0};
  ws.ws_col = argc > 0 ? (unsigned short)arg_i32(env, argv[0]) : 80;
  ws.ws_row = argc > 1 ? (unsigned short)arg_i32(env, argv[1]) : 24;
  if (ws.ws_col == 0) ws.ws_col = 80;
  if (ws.ws_row == 0) ws.ws_row = 24;
  int master = -1, slave = -1;
  if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
    napi_throw_error(env, "EPTY", "openpty failed");
    return NULL;
  }
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(slave, F_SETFD, FD_CLOEXEC);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  napi_value out, m, s;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, master, &m);
  napi_create_int32(env, slave, &s);
  napi_set_element(env, out, 0, m);
  napi_set_element(env, out, 1, s);
  return out;
}

static napi_value js_resize(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct winsize ws = {0};
  int fd = arg_i32(env, argv[0]);
  ws.ws_col = (unsigned short)arg_i32(env, argv[1]);
  ws.ws_row = (unsigned short)arg_i32(env, argv[2]);
  int rc = ioctl(fd, TIOCSWINSZ, &ws) < 0 ? errno : 0;
  napi_value r;
  napi_create_int32(env, rc, &r);
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"resize", NULL, js_resize, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
