/*
 * sd_notify(3) without a fork: sends one notification datagram ("READY=1", "WATCHDOG=1", ...) to the AF_UNIX
 * socket named by $NOTIFY_SOCKET. Node has no AF_UNIX datagram sockets, and forking systemd-notify for every
 * watchdog ping costs far more (scripts/bench/sd-notify-bench.ts measures both).
 *
 * send(socketPath, message) -> 0 on success, else a positive errno value (never throws for a failed send: the
 * caller decides what a failure means). Argument type errors are thrown as TypeError, as N-API modules do.
 *
 * Addressing follows sd_notify(3): a path starting with "/" is a file system socket, one starting with "@" is in
 * the Linux abstract namespace (the "@" becomes a leading NUL byte and the address has no trailing NUL); anything
 * else is EAFNOSUPPORT, and a name that does not fit sockaddr_un.sun_path (with its NUL) is EINVAL, as systemd's
 * own implementation answers. The send is non-blocking (MSG_DONTWAIT): a manager whose queue is full makes it
 * fail with EAGAIN instead of stalling the daemon's event loop; the next watchdog ping tries again.
 */
#include <node_api.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_send(const char *path, size_t path_len, const char *message, size_t message_len) {
  struct sockaddr_un addr;
  socklen_t addr_len;
  int fd, err = 0;

  if (path_len == 0 || message_len == 0) return EINVAL;
  if (path[0] != '/' && path[0] != '@') return EAFNOSUPPORT;
  if (path_len < 2 || path_len >= sizeof(addr.sun_path) || memchr(path, '\0', path_len) != NULL) return EINVAL;

  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, path_len);
  if (path[0] == '@') {
    addr.sun_path[0] = '\0';
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
  } else {
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1);
  }

  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  if (sendto(fd, message, message_len, MSG_NOSIGNAL | MSG_DONTWAIT, (const struct sockaddr *)&addr, addr_len) < 0) err = errno;
  else err = 0;
  close(fd);
  return err;
}

/* Reads a JS string argument into a malloc'ed UTF-8 buffer; NULL (with a TypeError pending) if it is not one. */
static char *string_arg(napi_env env, napi_value value, const char *name, size_t *len) {
  napi_valuetype type;
  char *buf;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) {
    char msg[64];
    snprintf(msg, sizeof(msg), "%s must be a string", name);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, NULL, 0, len) != napi_ok) return NULL;
  buf = malloc(*len + 1);
  if (buf == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, buf, *len + 1, len) != napi_ok) {
    free(buf);
    return NULL;
  }
  return buf;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 2, path_len = 0, message_len = 0;
  napi_value argv[2], result;
  char *path, *message;
  int err;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "send(socketPath, message) takes two strings");
    return NULL;
  }
  path = string_arg(env, argv[0], "socketPath", &path_len);
  if (path == NULL) return NULL;
  message = string_arg(env, argv[1], "message", &message_len);
  if (message == NULL) {
    free(path);
    return NULL;
  }
  err = notify_send(path, path_len, message, message_len);
  free(path);
  free(message);
  if (napi_create_int32(env, err, &result) != napi_ok) return NULL;
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "send", NAPI_AUTO_LENGTH, js_send, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "send", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
