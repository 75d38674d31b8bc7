// The one error the rule-loading seams throw (iptables-restore, ip6tables-restore, ipset restore),
// real or fake, so a plane branches on `isRestoreError`, never on a tool's message text. `line`
// is the input line the tool blamed, when it said.
export type RestoreTool = 'iptables' | 'ip6tables' | 'ipset' | 'ipvsadm';

export class RestoreError extends Error {
  readonly code = 'RESTORE_FAILED';
  constructor(
    readonly tool: RestoreTool,
    message: string,
    readonly line?: number,
    cause?: unknown,
  ) {
    super(`${tool}: ${message}${line !== undefined ? ` (line ${line})` : ''}`, { cause });
    this.name = 'RestoreError';
  }
}

export function isRestoreError(e: unknown, tool?: RestoreTool): e is RestoreError {
  return e instanceof RestoreError && (tool === undefined || e.tool === tool);
}

/** The line a tool's stderr blames ("Error occurred at line: 16", "line 8:", "Error in line 3:"). */
export function blamedLine(stderr: string): number | undefined {
  const m = /(?:at line:|Error in line|^line) ?(\d+)/im.exec(stderr) ?? /line (\d+) failed/.exec(stderr);
  return m?.[1] !== undefined ? Number(m[1]) : undefined;
}
