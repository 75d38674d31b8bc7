{
  "targets": [
    {
      "target_name": "tcp_relay",
      "sources": ["tcp_relay.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
