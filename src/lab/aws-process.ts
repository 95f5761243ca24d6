// The AWS test double as its own process (src/lab/aws-test-server/main.ts, "AWS" being the KMS or secret store's
// machine), for the lab rows whose KMS or External Secrets source is AWS. No AWS can be reached from the lab's
// machines, so the report names the double. main.ts writes its administrator's access key pair to DIR.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Shipped with the lab (dist/testing when built), so `coffer lab` needs nothing from the repository's test/ folder.
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const AWS_MAIN = fileURLToPath(new URL(`./aws-test-server/main.${FROM_SOURCES ? 'ts' : 'js'}`, import.meta.url));
/** Both processes load the AWS SDK and the plugin makes a KMS round trip before it serves: slow on a busy machine. */
const START_TIMEOUT_MS = 120_000;
export const LAB_AWS_REGION = 'us-east-1';

/** Starts a Node process; resolves with the first match of `ready` on its stdout. */
export async function spawnReady(args: string[], ready: RegExp, what: string, onChild?: (c: ChildProcess) => void): Promise<{ match: RegExpExecArray; child: ChildProcess }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  onChild?.(child);
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${START_TIMEOUT_MS / 1000} s: ${err}`)), START_TIMEOUT_MS);
    child.stdout.on('data', (c: Buffer) => {
      out = (out + c.toString()).slice(-8000);
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${err}`));
    });
    child.once('error', reject);
  });
  return { match, child };
}

export interface LabAws {
  endpoint: string;
  child: ChildProcess;
  /** Where main.ts wrote the administrator's key pair (aws-access-key-id, aws-secret-access-key). */
  dir: string;
  adminCredentials(): Promise<{ accessKeyId: string; secretAccessKey: string }>;
}

export async function startLabAws(dir: string, onChild?: (c: ChildProcess) => void): Promise<LabAws> {
  const args = [...(FROM_SOURCES ? ['--import', import.meta.resolve('tsx')] : []), AWS_MAIN, '--port', '0', '--region', LAB_AWS_REGION, '--dir', dir];
  const started = await spawnReady(args, /listening on (http:\/\/\S+)/, 'the AWS test server', onChild);
  return {
    endpoint: started.match[1]!,
    child: started.child,
    dir,
    adminCredentials: async () => ({
      accessKeyId: (await readFile(join(dir, 'aws-access-key-id'), 'utf8')).trim(),
      secretAccessKey: (await readFile(join(dir, 'aws-secret-access-key'), 'utf8')).trim(),
    }),
  };
}
