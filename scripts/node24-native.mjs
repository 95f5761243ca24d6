// `--import` entry for `npm run test:node24`: registers the resolution hook (NODE_OPTIONS carries it to every coffer
// process a test starts).
import { register } from 'node:module';

register('./node24-native-hooks.mjs', import.meta.url);
