// Lab pods as kubelet pods, through real kubectl against `svcnet up` (in a network namespace
// this test owns): `kubectl logs` with its options, `kubectl exec` with stdin, a terminal and exit
// codes, `kubectl port-forward`, and each pod's own hostname.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { eventually } from './helpers/eventually.ts';
import { LabUp } from './helpers/lab-up.ts';

const root = hasNetAdmin();
const ns = `svt-${process.pid % 100000}-k`;
const port = 21000 + (process.pid % 10000);

const pods = `
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "i=0; while true; do echo line $i; echo err $i >&2; i=$((i+1)); sleep 0.2; done"]
  - name: web
    image: svcnet/echo
---
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo run at $(date +%s%N); sleep 1; exit 2"]
`;

describe('kubectl logs, exec and port-forward on lab pods', {
  skip: root ? false : 'needs root (CAP_NET_ADMIN) for lab namespaces',
}, () => {
  const lab = new LabUp({ ns, args: ['--listen', `127.0.0.1:${port}`], nodes: 1, timeoutMs: 120_000 });
  const kubectl = (args: string[], input?: string) => lab.kubectlRun(args, input);
  const kc = (args: string[], input?: string) => lab.kubectl(args, input);
  const inNs = (cmd: string, args: string[]) => lab.run(cmd, args);
  const inNsSpawn = (args: string[]) =>
    spawn('nsenter', [`--net=/run/netns/${ns}`, 'kubectl', '--cache-dir', lab.kubectlCacheDir, ...args], {
      env: lab.env,
    });

  before(async () => {
    await lab.start();
    writeFileSync(join(lab.dir, 'pods.yaml'), pods);
    await kc(['apply', '-f', join(lab.dir, 'pods.yaml')]);
    await kc(['wait', '--for=condition=Ready', 'pod/talker', '--timeout=60s']);
    // The crasher has run twice (so it has a previous run) and is back off or running.
    await eventually(
      'crasher restarted',
      async () => {
        const p = JSON.parse(await kc(['get', 'pod', 'crasher', '-o', 'json']));
        return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? true : undefined;
      },
      30_000,
      200,
    );
  });

  after(() => lab.close());

  it('kubectl logs: default container, --tail, --timestamps, --limit-bytes, --since, -c, errors', async () => {
    const all = await kc(['logs', 'talker']);
    assert.match(all, /^line 0\nerr 0\nline 1\n/, 'stdout and stderr interleaved in order, default container "main"');
    const tail = (await kc(['logs', 'talker', '-c', 'main', '--tail=2'])).split('\n').filter(Boolean);
    assert.equal(tail.length, 2);
    const stamped = await kc(['logs', 'talker', '-c', 'main', '--tail=1', '--timestamps']);
    assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (line|err) \d+\n$/);
    assert.equal(await kc(['logs', 'talker', '-c', 'main', '--limit-bytes=7']), 'line 0\n');
    const recent = (await kc(['logs', 'talker', '-c', 'main', '--since=1s'])).split('\n').filter(Boolean);
    assert.ok(recent.length > 0 && recent.length < all.split('\n').length, 'since keeps only the last second');
    const web = await kubectl(['logs', 'talker', '-c', 'nope']);
    assert.notEqual(web.code, 0);
    assert.match(web.stderr, /container nope is not valid for pod talker/);
    const prev = await kubectl(['logs', 'talker', '-c', 'main', '--previous']);
    assert.match(prev.stderr, /previous terminated container "main" in pod "talker" not found/);
    // kube-apiserver's PodLogOptions validation, past kubectl's own checks.
    const bad = await kubectl([
      'get',
      '--raw',
      '/api/v1/namespaces/default/pods/talker/log?container=main&tailLines=-3',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /tailLines: Invalid value: -3: must be greater than or equal to 0/);
  });

  it('kubectl logs --previous shows the run before the restart; -f follows until stopped', async () => {
    const prev = await kc(['logs', 'crasher', '--previous']);
    assert.match(prev, /^run at \d+\n$/);
    const follow = inNsSpawn(['logs', '-f', 'talker', '-c', 'main', '--tail=1']);
    let out = '';
    follow.stdout.on('data', (d) => {
      out += String(d);
    });
    try {
      // New lines arrive while following (one every 0.2 s per stream).
      await eventually('followed lines', async () => (out.split('\n').length > 6 ? true : undefined), 10_000, 100);
      const nums = [...out.matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
      for (let i = 1; i < nums.length; i++) assert.equal(nums[i], (nums[i - 1] ?? 0) + 1, out);
    } finally {
      follow.kill('SIGINT');
    }
  });

  it('kubectl exec: stdout and stderr apart, exit codes, stdin, the pod hostname, container env', async () => {
    const r = await kubectl(['exec', 'talker', '-c', 'main', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.match(r.stderr, /^err\n/);
    assert.match(r.stderr, /command terminated with exit code 3/);
    assert.equal(await kc(['exec', 'talker', '-c', 'main', '--', 'hostname']), 'talker\n');
    assert.equal(await kc(['exec', 'talker', '-c', 'main', '--', 'sh', '-c', 'echo $HOSTNAME']), 'talker\n');
    // The shortcut enters the same namespaces.
    const short = await lab.svcnet(['exec', 'talker', '--', 'hostname']);
    assert.equal(short.stdout, 'talker\n', short.stderr);
    const big = 'x'.repeat(300_000);
    const echoed = await kc(['exec', '-i', 'talker', '-c', 'main', '--', 'sh', '-c', 'wc -c; echo done'], big);
    assert.equal(echoed, `${big.length}\ndone\n`);
    const missing = await kubectl(['exec', 'talker', '-c', 'main', '--', 'no-such-program']);
    assert.notEqual(missing.code, 0);
    const bad = await kubectl(['exec', 'talker', '-c', 'nope', '--', 'true']);
    assert.match(bad.stderr, /container nope is not valid for pod talker/);
  });

  it('kubectl exec -it: a terminal of the client size, resized, exit code carried', async () => {
    // A real terminal for kubectl (python's pty), so kubectl sends the size and raw keystrokes.
    const driver = `
import os, pty, select, struct, fcntl, termios, time, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp("kubectl", ["kubectl", "--cache-dir", sys.argv[1], "exec", "-it", "talker", "-c", "main", "--", "sh"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 132, 0, 0))
out = b""
def rd(t, until=None):
    global out
    end = time.time() + t
    while time.time() < end and not (until and until in out):
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: out += os.read(fd, 4096)
            except OSError: return
rd(15, b"# ")
os.write(fd, b"tty; stty size; exit 7\\n")
rd(15)
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(st))
`;
    const r = await inNs('/usr/bin/python3', ['-c', driver, lab.kubectlCacheDir]);
    assert.equal(r.code, 7, r.stdout + r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    assert.match(r.stdout, /40 132/);
  });

  it('the official Python client: exec with its exit code (v4.channel.k8s.io) and port-forward', async () => {
    const script = `
import sys
from kubernetes import client, config
from kubernetes.stream import stream, portforward
config.load_kube_config(config_file=sys.argv[1])
api = client.CoreV1Api()
r = stream(api.connect_get_namespaced_pod_exec, "talker", "default", container="main",
           command=["sh", "-c", "echo from-python; exit 4"], stderr=True, stdin=False, stdout=True, tty=False,
           _preload_content=False)
r.run_forever(timeout=20)
print("exec", r.read_stdout().strip(), r.returncode)
pf = portforward(api.connect_get_namespaced_pod_portforward, "talker", "default", ports="8080")
s = pf.socket(8080)
s.setblocking(True)
s.sendall(b"GET /hostname HTTP/1.0\\r\\n\\r\\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
s.close()
print("pf", data.split(b"\\r\\n\\r\\n", 1)[-1].decode().strip())
`;
    const r = await inNs('/usr/bin/python3', ['-c', script, join(lab.dataDir, 'kubeconfig')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^exec from-python 4$/m);
    assert.match(r.stdout, /^pf talker$/m);
  });

  it('kubectl port-forward reaches the pod port; two connections in turn', async () => {
    const local = 22000 + (process.pid % 10000);
    const pf = inNsSpawn(['port-forward', 'pod/talker', `${local}:8080`]);
    let out = '';
    pf.stdout.on('data', (d) => {
      out += String(d);
    });
    pf.stderr.on('data', (d) => {
      out += String(d);
    });
    try {
      await eventually('forwarding', async () => (out.includes('Forwarding from') ? true : undefined), 15_000, 50);
      for (let i = 0; i < 2; i++) {
        const r = await inNs('curl', ['-sS', '-m', '5', `http://127.0.0.1:${local}/hostname`]);
        assert.equal(r.stdout.trim(), 'talker', r.stderr + out);
      }
    } finally {
      pf.kill('SIGINT');
    }
  });
});
