// CIDR blocks that bind a credential to the addresses it may be used from (Vault's bound_cidrs, secret_id_bound_cidrs,
// token_bound_cidrs): a copied credential is useless from anywhere else.
import { BlockList, isIP } from 'node:net';
import { badRequest } from './vault-error.js';

export function parseCidr(cidr: string, field: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } {
  const [address = '', bits] = cidr.split('/');
  const family = isIP(address);
  const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
  if (family === 0 || !/^\d{1,3}$/.test(bits ?? '0') || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
    throw badRequest(`invalid value ${JSON.stringify(cidr)} in field "${field}": want an IP address or CIDR block`);
  }
  return { address, prefix, type: family === 6 ? 'ipv6' : 'ipv4' };
}

/**
 * Built BlockLists by CIDR list, each with its answers by peer address: a bound token is checked on every request,
 * and building a list, or even checking an address against one (a SocketAddress per check), costs more than a lookup.
 */
const blockLists = new Map<string, { list: BlockList; answers: Map<string, boolean> }>();
const MAX_CACHED_BLOCK_LISTS = 1024;
/** Peer addresses remembered per list; the answers are emptied when full. */
const MAX_CACHED_ANSWERS = 1024;

/** Whether a peer address (IPv4-mapped IPv6 included, as Node reports it on a dual-stack socket) is in any block. */
export function inCidrs(remote: string, cidrs: readonly string[]): boolean {
  const key = cidrs.join(',');
  let entry = blockLists.get(key);
  if (!entry) {
    const list = new BlockList();
    for (const c of cidrs) {
      const { address, prefix, type } = parseCidr(c, 'cidr');
      list.addSubnet(address, prefix, type);
    }
    if (blockLists.size >= MAX_CACHED_BLOCK_LISTS) blockLists.clear();
    entry = { list, answers: new Map() };
    blockLists.set(key, entry);
  }
  let answer = entry.answers.get(remote);
  if (answer === undefined) {
    const addr = remote.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    const family = isIP(addr);
    answer = family !== 0 && entry.list.check(addr, family === 6 ? 'ipv6' : 'ipv4');
    if (entry.answers.size >= MAX_CACHED_ANSWERS) entry.answers.clear();
    entry.answers.set(remote, answer);
  }
  return answer;
}
