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

/** Built BlockLists by CIDR list: a bound token is checked on every request, and building one costs more than the check. */
const blockLists = new Map<string, BlockList>();
const MAX_CACHED_BLOCK_LISTS = 1024;

/** Whether a peer address (IPv4-mapped IPv6 included, as Node reports it on a dual-stack socket) is in any block. */
export function inCidrs(remote: string, cidrs: readonly string[]): boolean {
  const key = cidrs.join(',');
  let list = blockLists.get(key);
  if (!list) {
    list = new BlockList();
    for (const c of cidrs) {
      const { address, prefix, type } = parseCidr(c, 'cidr');
      list.addSubnet(address, prefix, type);
    }
    if (blockLists.size >= MAX_CACHED_BLOCK_LISTS) blockLists.clear();
    blockLists.set(key, list);
  }
  const addr = remote.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  const family = isIP(addr);
  return family !== 0 && list.check(addr, family === 6 ? 'ipv6' : 'ipv4');
}
