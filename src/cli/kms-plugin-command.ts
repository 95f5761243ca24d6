// `coffer kms-plugin --config FILE`: the KMS plugin kube-apiserver (or `coffer up`) talks to over a unix socket.
// Logs are JSON on stderr; stdout gets exactly one line once serving, which supervisors (coffer up, tests) wait for:
//   coffer kms-plugin ready endpoint=unix:///run/coffer/kms.sock health=http://127.0.0.1:8787
import type { Command } from 'commander';
import { loadKmsPluginConfig, parseListenAddress } from '../kms-plugin/plugin-config.js';
import { startKmsPlugin } from '../kms-plugin/kms-plugin.js';
import { parseKmsEndpoint } from '../kms/unix-endpoint.js';
import { createCommandLogger, resolveLogFormat } from '../lib/log-format.js';
import { serveUntilSignal } from './serve-until-signal.js';

interface KmsPluginFlags {
  config: string;
  endpoint?: string;
  healthListen?: string;
  logLevel: string;
  logFormat?: string;
}

export function registerKmsPluginCommand(program: Command): void {
  program
    .command('kms-plugin')
    .description('serve the Kubernetes KMS plugin API (v2 and v1beta1) on a unix socket, wrapping DEKs with Vault Transit, PKCS#11, a local key or several at once')
    .requiredOption('--config <file>', 'plugin configuration (YAML, docs/kms-plugin.md); secrets are referenced as files, never inline')
    .option('--endpoint <unix:///path>', 'socket to serve on (overrides the config file)')
    .option('--health-listen <host:port>', 'HTTP address for /healthz, /livez, /metrics; port 0 picks one (overrides the config file)')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .option('--log-format <format>', 'json | text (default: text on a terminal, json otherwise)')
    .action(async (flags: KmsPluginFlags) => {
      const logger = createCommandLogger({ component: 'coffer-kms-plugin', level: flags.logLevel, format: resolveLogFormat(flags.logFormat) });
      const config = await loadKmsPluginConfig(flags.config);
      if (flags.endpoint) {
        parseKmsEndpoint(flags.endpoint);
        config.endpoint = flags.endpoint;
      }
      if (flags.healthListen) {
        parseListenAddress(flags.healthListen, '--health-listen');
        config.healthListen = flags.healthListen;
      }
      await serveUntilSignal(logger, () => startKmsPlugin({ config, logger, processMetrics: true }), (running) => {
        logger.info({ endpoint: running.endpoint, healthUrl: running.healthUrl, backend: running.keyManager.name }, 'coffer kms-plugin serving');
        process.stdout.write(`coffer kms-plugin ready endpoint=${running.endpoint} health=${running.healthUrl}\n`);
      });
    });
}
