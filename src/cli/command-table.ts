// The table of `coffer` subcommands. Only the file of the command being run is loaded (the API server, gRPC, SQLite
// and the Kubernetes client are large), so `coffer --help` and `coffer kms-plugin` start without loading what they do
// not use. The other commands are listed by name and summary only; command-table.test.ts checks that these summaries
// match what the command files register.
import { Command } from 'commander';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'audit',
    summary: 'list plaintext, unknown-prefix and stale objects of a backup or live cluster; exit 1 on --fail-on findings',
    load: async () => (await import('./audit-command.js')).registerAuditCommand,
  },
  {
    name: 'controller',
    summary: 'run the External Secrets controller (external-secrets.io ExternalSecret, SecretStore, ClusterSecretStore, ClusterExternalSecret)',
    load: async () => (await import('./controller-command.js')).registerControllerCommand,
  },
  {
    name: 'dashboard',
    summary: 'serve the web dashboard for any cluster (encryption at rest, rotation, KMS, External Secrets)',
    load: async () => (await import('./dashboard-command.js')).registerDashboardCommand,
  },
  {
    name: 'encryption',
    summary: 'What is encrypted at rest, and with which key (docs/operations.md)',
    load: async () => (await import('./encryption-command.js')).registerEncryptionCommand,
  },
  {
    name: 'encryption-config',
    summary: 'Work with EncryptionConfiguration files',
    load: async () => (await import('./encryption-config-command.js')).registerEncryptionConfigCommand,
  },
  {
    name: 'keyserver',
    summary: 'run the key server: a subset of the HashiCorp Vault HTTP API (transit/, secret/ KV v2, token and AppRole auth)',
    load: async () => (await import('./keyserver-command.js')).registerKeyserverCommand,
  },
  {
    name: 'kms-plugin',
    summary: 'serve the Kubernetes KMS plugin API (v2 and v1beta1) on a unix socket, wrapping DEKs with Vault Transit, PKCS#11, a local key or several at once',
    load: async () => (await import('./kms-plugin-command.js')).registerKmsPluginCommand,
  },
  {
    name: 'lab',
    summary: 'measure the threat table: deploy each implementation, plant canaries, attack, print verdicts from the evidence',
    load: async () => (await import('./lab-command.js')).registerLabCommand,
  },
  {
    name: 'recover',
    summary: 'decrypt a whole backup into YAML files kubectl can apply (0600 files, 0700 directories)',
    load: async () => (await import('./recover-command.js')).registerRecoverCommand,
  },
  {
    name: 'reencrypt',
    summary: 'rewrite objects through the API server (GET + PUT, unchanged) so they are stored with its write key',
    load: async () => (await import('./reencrypt-command.js')).registerReencryptCommand,
  },
  {
    name: 'rotate',
    summary: 'rotate encryption keys: prepare -> promote -> reencrypt -> prune (docs/operations.md)',
    load: async () => (await import('./rotate-command.js')).registerRotateCommand,
  },
  {
    name: 'rotate-kek',
    summary: "create the next version of a kms-plugin configuration's PKCS#11 KEK (running plugins pick it up at their next Status)",
    load: async () => (await import('./rotate-kek-command.js')).registerRotateKekCommand,
  },
  {
    name: 'transform',
    summary: 'Decrypt or encrypt one stored value with an EncryptionConfiguration (disaster recovery)',
    load: async () => (await import('./transform-command.js')).registerTransformCommand,
  },
  {
    name: 'up',
    summary: 'run the Kubernetes-compatible API server for Secrets (embedded SQLite store, encryption at rest on)',
    load: async () => (await import('./up-command.js')).registerUpCommand,
  },
];

/** The subcommand argv names: the first argument that is not an option (`coffer` itself has none taking a value). */
function requestedCommand(args: readonly string[]): string | undefined {
  const first = args.find((a) => !a.startsWith('-'));
  return first === 'help' ? args[args.indexOf(first) + 1] : first;
}

export async function buildProgram(args: readonly string[]): Promise<Command> {
  const program = new Command('coffer')
    .description('Keeps Kubernetes Secrets safe at rest, and proves it')
    .showHelpAfterError()
    .configureOutput({ outputError: (msg, write) => write(msg) });
  const wanted = requestedCommand(args);
  for (const entry of COMMANDS) {
    if (entry.name === wanted) (await entry.load())(program);
    else program.command(entry.name).description(entry.summary);
  }
  return program;
}
