{
  "targets": [
    {
      "target_name": "pty",
      "sources": ["pty.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-lutil"]
    }
  ]
}
