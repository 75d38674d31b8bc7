// The last steps before a lab container's program runs, as a container runtime takes them
// between creating the container's mount namespace and exec'ing the entrypoint: mount the pod's
// volumes, hide what the container must not see, change to the working directory, then become
// the container's user.
//
// It runs as root inside the pod's namespaces, under `ip netns exec`, which already gives every
// process a mount namespace of its own whose mounts do not propagate back to the host (it
// unshares one to mount /etc/netns/<pod>/* over /etc). So each container process — and each
// `kubectl exec` and exec probe, as in Kubernetes where every container has its own mount
// namespace — gets these mounts, and nothing is left to clean up when the process ends.
//
// - Volumes are read-only bind mounts of host directories onto targets under a tmpfs "volume
//   root" (e.g. /var/run/secrets), so the host's directory tree stays as it was, except for the
//   volume root's (empty) mount point, made once.
// - Hidden paths get an empty read-only tmpfs over them (svcnet's data directory: the store,
//   the keys, the admin token, other pods' volumes and logs).
// - Its own PID namespace (when tini is installed, as scripts/setup.sh does).
// - setpriv sets uid, gid and supplementary groups. Changing to a non-root uid clears every
//   capability; a root process keeps only its bounding set (containerd's default set unless
//   the container is privileged), so it cannot ptrace or enter svcnet's own namespaces, and a
//   setuid-root program gains no more than that set.
export interface SandboxVolume {
  /** Host directory (readable by root only is fine: it is mounted before the user changes). */
  source: string;
  /** Absolute path under one of the volume roots. */
  target: string;
}

export interface SandboxSpec {
  uid: number;
  gid: number;
  groups: readonly number[];
  /** Bounding set (capability names without CAP_), or all of them. */
  capabilities: readonly string[] | 'all';
  /** No setuid or file-capability gains (allowPrivilegeEscalation: false). */
  noNewPrivileges?: boolean;
  /** Each gets a fresh tmpfs before the volumes are mounted. */
  volumeRoots: readonly string[];
  volumes: readonly SandboxVolume[];
  /** Directories covered by an empty read-only tmpfs (skipped when absent). */
  hide: readonly string[];
  workingDir: string;
}

/** Single-quoted for sh. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function capabilityArg(caps: readonly string[] | 'all'): string | undefined {
  if (caps === 'all') return undefined;
  return ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');
}

/** The script's text (pure, for tests) — argv follows as "$@". */
export function sandboxScript(spec: SandboxSpec): string {
  const q = shQuote;
  const lines = ['set -e'];
  for (const r of spec.volumeRoots) {
    lines.push(`mkdir -p ${q(r)}`, `mount -t tmpfs -o mode=0755,size=1m svcnet-volumes ${q(r)}`);
  }
  for (const v of spec.volumes) {
    lines.push(`mkdir -p ${q(v.target)}`, `mount --bind -o ro ${q(v.source)} ${q(v.target)}`);
  }
  for (const r of spec.volumeRoots) lines.push(`mount -o remount,ro ${q(r)}`);
  for (const h of spec.hide) {
    lines.push(`if [ -d ${q(h)} ]; then mount -t tmpfs -o ro,mode=0755,size=4k svcnet-hidden ${q(h)}; fi`);
  }
  lines.push(`cd ${q(spec.workingDir)}`, 'unset OLDPWD');
  const setpriv = [
    'setpriv',
    `--reuid=${spec.uid}`,
    `--regid=${spec.gid}`,
    spec.groups.length ? `--groups=${spec.groups.join(',')}` : '--clear-groups',
  ];
  // The bounding set applies to non-root users too: it is all a setuid-root program they run
  // can gain. The inheritable set goes with it, or setpriv refuses capabilities outside it.
  const bounding = capabilityArg(spec.capabilities);
  if (bounding) setpriv.push(`--bounding-set=${bounding}`, '--inh-caps=-all');
  if (spec.noNewPrivileges) setpriv.push('--no-new-privs');
  // A PID namespace of its own (with /proc remounted for it): no other process of the machine is
  // visible, so none can be read through /proc/<pid>/root. tini is its init, as under
  // `docker --init`: it forwards SIGTERM to the program's process group (a program as pid 1
  // would ignore it) and reaps; unshare's parent waits and passes the exit status on, and
  // --kill-child takes the namespace down if the parent is SIGKILLed.
  const inPidNs = `unshare --pid --fork --kill-child --mount-proc ${setpriv.join(' ')} -- tini -g --`;
  lines.push(`if command -v tini >/dev/null 2>&1; then exec ${inPidNs} "$@"; fi`, `exec ${setpriv.join(' ')} -- "$@"`);
  return lines.join('\n');
}

/** The argv running `argv` in the sandbox (to be run as root inside the pod's namespaces). */
export function sandboxArgv(spec: SandboxSpec, argv: readonly string[]): string[] {
  return ['sh', '-c', sandboxScript(spec), 'svcnet-sandbox', ...argv];
}
