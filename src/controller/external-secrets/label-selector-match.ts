// metav1.LabelSelector matching (matchLabels AND matchExpressions with In, NotIn, Exists, DoesNotExist), for
// ClusterSecretStore conditions and ClusterExternalSecret namespaceSelectors. An empty selector matches everything.
import { InvalidError } from '../../lib/errors.js';
import type { LabelSelector } from './external-secret-types.js';

export function matchesLabelSelector(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new InvalidError(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
    }
  }
  return true;
}
