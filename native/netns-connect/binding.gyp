{
  "targets": [
    {
      "target_name": "netns_connect",
      "sources": ["netns_connect.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
