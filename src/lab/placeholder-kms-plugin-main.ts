// Entry point of the placeholder KMS plugin process (see kms-backend.ts): the base64 test plugin on a unix socket in
// argv[2], as its own process - the API server must reach it over the socket while the lab is busy analysing dumps.
import { startBase64KmsPlugin } from '../kms/testing/base64-kms-plugin.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: placeholder-kms-plugin-main.ts <socket dir>');
const plugin = await startBase64KmsPlugin({ dir });
process.stdout.write(`ready ${plugin.endpoint}\n`);
const stop = () => void plugin.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
