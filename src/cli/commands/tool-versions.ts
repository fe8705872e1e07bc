/** `fuseml-installer version`: the helm and kubectl the installer would run, and their versions. */
import { run } from '../../exec/index.js';
import { resolveTool, type ToolName } from '../../exec/tools.js';
import { FusemlError } from '../../core/errors.js';

const VERSION_ARGS: Readonly<Record<ToolName, readonly string[]>> = {
  helm: ['version', '--short'],
  kubectl: ['version', '--client', '-o', 'json'],
};

function firstVersion(tool: ToolName, stdout: string): string {
  if (tool === 'kubectl') {
    try {
      const v = (JSON.parse(stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion;
      if (v) return v;
    } catch {
      // fall through to the raw first line
    }
  }
  return stdout.trim().split('\n')[0] ?? '';
}

async function toolVersion(tool: ToolName): Promise<string> {
  let path: string;
  try {
    path = await resolveTool(tool);
  } catch (e) {
    if (e instanceof FusemlError && e.code === 'TOOL_MISSING') return 'not found';
    throw e;
  }
  const r = await run(path, VERSION_ARGS[tool], { timeoutMs: 10_000, allowFailure: true });
  return r.exitCode === 0 ? `${firstVersion(tool, r.stdout)} (${path})` : `unknown (${path} exited ${r.exitCode})`;
}

export async function installerToolVersions(): Promise<Record<string, string>> {
  const [helm, kubectl] = await Promise.all([toolVersion('helm'), toolVersion('kubectl')]);
  return { helm, kubectl };
}
