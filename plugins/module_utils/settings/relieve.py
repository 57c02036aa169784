# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident path (docs/incident.md): a table full now. What conntrack_relieve changes, and only
at runtime: max raised to the profile's recommendation (never lowered, never the hash table: a
resize rehashes every live entry with bottom halves off), and, only when asked, the timeouts that
hold the most entries shortened to their floors. Persisted files are never touched: persisting
is a separate step, and the plan gives its command. Pure functions.

max is global: outside the initial network namespace (a container) it is read-only, while each
namespace's own count is checked against it. So on the node the fullest namespace counts (its
containers are relieved too), and inside a container relieve says where to run instead.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.nfct.tuning.plugins.module_utils.kernel import keys as _keys, rules as _kernel

# a TCP state (as /proc prints it) -> the timeout key that holds entries in it
STATE_KEYS = {
    'SYN_SENT': 'tcp_timeout_syn_sent', 'SYN_RECV': 'tcp_timeout_syn_recv', 'ESTABLISHED': 'tcp_timeout_established',
    'FIN_WAIT': 'tcp_timeout_fin_wait', 'CLOSE_WAIT': 'tcp_timeout_close_wait', 'LAST_ACK': 'tcp_timeout_last_ack',
    'TIME_WAIT': 'tcp_timeout_time_wait', 'CLOSE': 'tcp_timeout_close',
}
# an L4 protocol without states -> its timeout key (UDP: the unreplied one; a replied flow uses
# udp_timeout_stream, which has a floor of 2 min)
L4_KEYS = {'udp': 'udp_timeout', 'icmp': 'icmp_timeout', 'icmpv6': 'icmpv6_timeout'}
# a share of the table at least this large makes a timeout worth shortening
SHORTEN_SHARE = 0.10
SHORTEN_MOST = 3


def holders(breakdown):
    """[(timeout key, entries it holds)] from a breakdown, largest first."""
    held = {}
    for state, n in ((breakdown or {}).get('tcp_states') or {}).items():
        key = STATE_KEYS.get(state)
        if key:
            held[key] = held.get(key, 0) + n
    for l4, n in ((breakdown or {}).get('l4') or {}).items():
        key = L4_KEYS.get(l4)
        if key:
            held[key] = held.get(key, 0) + n
    return sorted(held.items(), key=lambda kv: (-kv[1], kv[0]))


def describe(ns):
    """A namespace as a person finds it: its name under /run/netns, else a process in it."""
    if ns.get('name'):
        return 'network namespace %s' % ns['name']
    if ns.get('pid'):
        return 'the network namespace of pid %d (%s)' % (ns['pid'], ', '.join(ns.get('comms') or []) or '?')
    return 'network namespace inode %s' % ns.get('inode')


def fullest(facts, namespaces):
    """(count, where, namespace or None) of the fullest table that counts against this host's max:
    its own (None), or (on the node) one of its namespaces'."""
    best = (facts.get('count') or 0, 'this network namespace', None)
    for ns in namespaces or []:
        if isinstance(ns.get('count'), int) and ns['count'] > best[0]:
            best = (ns['count'], describe(ns), ns)
    return best


def shared_count(facts, namespaces):
    """Entries in every table seen from here: they share one hash table (and its chains)."""
    return (facts.get('count') or 0) + sum(ns['count'] for ns in namespaces or [] if isinstance(ns.get('count'), int))


def raise_max(facts, target, namespaces):
    """{'before', 'after', 'why', 'change'} for max, or {'error'}: the recommendation (computed
    by the sizing engine with only_raise for the fullest count), never below the live max."""
    live = facts.get('max')
    if target.get('error'):
        return {'error': target['error']}
    count, where, _ns = fullest(facts, namespaces)
    after = max(live or 0, target['max'])
    why = target.get('why') or 'the recommendation for the profile'
    if after == live:
        why = 'max %d already holds the fullest table (%d entries in %s) within the profile\'s headroom: %s' % (
            live, count, where, why)
    return {'before': live, 'after': after, 'change': after != live, 'why': why, 'fullest': count,
            'fullest_where': where}


def shorten(facts, breakdown, asked):
    """The timeouts to shorten for the incident: those holding at least SHORTEN_SHARE of the
    entries (at most SHORTEN_MOST), each to its floor (kernel/rules.py TIMEOUT_FLOORS), when it is
    above it. [] unless asked."""
    if not asked or not breakdown or not breakdown.get('total'):
        return []
    total = float(breakdown['total'])
    out = []
    sysctls = facts.get('sysctls') or {}
    writable = set(facts.get('writable') or [])
    for key, n in holders(breakdown)[:SHORTEN_MOST]:
        if n / total < SHORTEN_SHARE:
            break
        floor = _kernel.timeout_floor(key)
        live = sysctls.get(key)
        if floor is None or not isinstance(live, int) or live <= floor[0] or key not in writable:
            continue
        out.append({'key': key, 'before': live, 'after': floor[0], 'holds': n, 'share': round(n / total, 3),
                    'why': 'holds %d entries (%d%%); its floor: %s (%s)' % (n, int(round(100 * n / total)), floor[1],
                                                                            floor[2])})
    return out


def chain(facts, new_max, namespaces=None):
    """The hash table left as it is: the chains now (every table's entries: the network namespaces
    share it) and with one table at the new max (entries per bucket)."""
    buckets = facts.get('buckets') or 0
    if not buckets:
        return None
    count = shared_count(facts, namespaces)
    return {'buckets': buckets, 'entries': count, 'now': round(float(count) / buckets, 2),
            'at_max': round(float(new_max) / buckets, 2)}


def resize_advice(facts, new_max, profile_buckets, namespaces=None):
    """When and how to resize the hash table later (a quiet window; the stall it costs)."""
    buckets = facts.get('buckets') or 0
    count = shared_count(facts, namespaces)
    want = profile_buckets or new_max
    if not buckets or want <= buckets:
        return None
    stall = _kernel.resize_seconds(count)
    return ('the hash table keeps %d buckets (chains of %.1f at the new max): resizing it to %d rehashes every live '
            'entry with bottom halves off, about %.2f s with %d entries (%s). Do it in a quiet window, with the '
            'persist step below' % (buckets, float(new_max) / buckets, want, stall, count, _kernel.SRC_RESIZE))


def writes(facts, max_change, timeouts):
    """The ordered runtime writes (max first), each with the path it goes to."""
    out = []
    if max_change.get('change'):
        out.append({'key': 'max', 'path': _keys.proc_path('max'), 'before': max_change['before'],
                    'value': max_change['after']})
    for t in timeouts:
        out.append({'key': t['key'], 'path': _keys.proc_path(t['key']), 'before': t['before'], 'value': t['after']})
    return out


def plan(facts, target, params, namespaces=None):
    """Everything relieve would do on this host, decided before anything is written.

    facts: conntrack facts (with the breakdown when gathered); target: the sizing engine's max for
    the profile ({'max', 'why'} or {'error'}); params: shorten_timeouts (bool), profile_buckets (the
    profile's buckets, for the resize advice); namespaces: [{'name', 'count'}] of the node's other
    network namespaces (empty inside a container).
    Returns {'state', 'errors', 'max', 'timeouts', 'writes', 'chain', 'resize', 'notes'}; state is
    'absent' (no conntrack: nothing to relieve), 'readonly' (max cannot be written here) or 'ok'.
    """
    result = {'state': 'ok', 'errors': [], 'max': None, 'timeouts': [], 'writes': [], 'chain': None, 'resize': None,
              'notes': []}
    if not facts.get('available'):
        result['state'] = 'absent'
        result['notes'].append('conntrack is not in use here (%s): there is nothing to relieve'
                               % ((facts.get('module') or {}).get('evidence') or 'no nf_conntrack'))
        return result
    breakdown = facts.get('breakdown')
    initial = (facts.get('netns') or {}).get('initial')
    count, where, _ns = fullest(facts, namespaces)
    result['table'] = {'count': count, 'max': facts.get('max'), 'where': where}
    max_writable = 'max' in set(facts.get('writable') or [])
    timeouts = shorten(facts, breakdown, params.get('shorten_timeouts'))
    if not max_writable:
        result['state'] = 'readonly'
        result['notes'].append(
            'nf_conntrack_max is global and read-only here (%s): this namespace\'s %d entries count against the '
            'node\'s max %s. Run relieve on the node (its initial network namespace): raising max there relieves '
            'every container at once' % ((facts.get('readonly') or {}).get('max') or 'not the initial network namespace',
                                         facts.get('count') or 0, facts.get('max')))
        result['timeouts'] = timeouts
        result['writes'] = writes(facts, {}, timeouts)
        return result
    change = raise_max(facts, target, namespaces)
    if change.get('error'):
        result['errors'].append(change['error'])
        return result
    result['max'] = change
    result['timeouts'] = timeouts
    result['writes'] = writes(facts, change, timeouts)
    result['chain'] = chain(facts, change['after'], namespaces)
    result['resize'] = resize_advice(facts, change['after'], params.get('profile_buckets'), namespaces)
    if change.get('fullest_where') != 'this network namespace' and params.get('shorten_timeouts'):
        result['notes'].append('timeouts are per network namespace: these are this namespace\'s; to shorten those of '
                               '%s, run relieve there with shorten_timeouts' % change['fullest_where'])
    if initial is False:
        result['notes'].append('max is writable from this namespace: it is the node\'s global value')
    if timeouts:
        result['notes'].append('shortened timeouts apply to each flow from its next packet; an idle entry keeps the '
                               'expiry it had. The persist step (the tune playbook) puts the profile\'s values back')
    return result


# ------------------------------------------------------------------ what fills the table

def notrack_suggestions(breakdown, local_ports, control_ports=(22,)):
    """The NOTRACK exemptions that would remove the largest share of the table: a destination
    port (with its protocol) holding at least SHORTEN_SHARE of the entries, inbound when a local
    socket listens on it (a service of this host), else outbound (a service this host calls).
    Never the control connection's ports. Suggestions only: relieve never applies them."""
    total = float((breakdown or {}).get('total') or 0)
    out = []
    for item in (breakdown or {}).get('top_destination_ports') or []:
        if not total or item.get('protocol') not in ('tcp', 'udp') or item.get('port') in control_ports:
            continue
        share = item['count'] / total
        if share < SHORTEN_SHARE:
            continue
        direction = 'inbound' if (item['protocol'], item['port']) in local_ports else 'outbound'
        out.append({'exemption': {'protocol': item['protocol'], 'port': item['port'], 'direction': direction},
                    'holds': item['count'], 'share': round(share, 3),
                    'why': '%s/%d holds %d entries (%d%%); %s' % (
                        item['protocol'], item['port'], item['count'], int(round(100 * share)),
                        'a service of this host listens on it' if direction == 'inbound'
                        else 'no local socket listens on it: traffic this host sends')})
    return out


def _quote(word):
    return word if word and all(c.isalnum() or c in '-_./,=:@' for c in word) else "'%s'" % word.replace("'", "'\\''")


def commands(context, suggestions, own=True):
    """The commands relieve prints (it runs none of them): persist, and apply the NOTRACK
    suggestions. context: {'host', 'inventory': [sources], 'profile'}."""
    import json
    context = context or {}
    inventory = ' '.join('-i %s' % _quote(i) for i in context.get('inventory') or []) or '-i INVENTORY'
    limit = '--limit %s' % _quote(context.get('host') or 'HOST')
    profile = context.get('profile')
    extra = ' -e conntrack_profile=%s' % _quote(profile) if profile and profile != 'default' else ''
    out = {'persist': 'ansible-playbook %s nfct.tuning.tune %s%s' % (inventory, limit, extra)}
    if suggestions and own:
        exemptions = json.dumps({'conntrack_notrack': [s['exemption'] for s in suggestions]}, sort_keys=True)
        out['notrack'] = 'ansible-playbook %s nfct.tuning.tune %s%s -e %s' % (inventory, limit, extra, _quote(exemptions))
    return out


def report_lines(result, check):
    """What relieve did (or would, in check mode), in the order a person under pressure reads it."""
    verb = 'would ' if check else ''
    out = []
    state = result['state']
    if state == 'absent':
        return result['notes']
    table = result.get('table')
    if table and table.get('max'):
        out.append('table: %d of max %d entries (%d%%) in %s' % (
            table['count'], table['max'], int(100.0 * table['count'] / table['max']), table['where']))
    change = result.get('max')
    if change:
        if change['change']:
            out.append('max: %s%d -> %d at runtime only (%s)' % (
                'raise ' if check else 'raised ', change['before'], change['after'], change['why']))
        else:
            out.append('max: %d kept (%s)' % (change['before'], change['why']))
    for t in result.get('timeouts') or []:
        out.append('%s: %s%d -> %d s for the incident (%s)' % (t['key'], verb, t['before'], t['after'], t['why']))
    chain_info = result.get('chain')
    if chain_info:
        out.append('hash table left as it is: %d buckets shared by every table, chains of %.2f now (%d entries), %.2f '
                   'with one table at the new max' % (chain_info['buckets'], chain_info['now'], chain_info['entries'],
                                                      chain_info['at_max']))
    if result.get('resize'):
        out.append(result['resize'])
    out.extend(result.get('notes') or [])
    out.append('no file was %s: persisted values are unchanged (%s)' % ('written' if not check else 'to be written',
                                                                        'the next boot gives them back'))
    cmds = result.get('commands') or {}
    if cmds.get('persist') and state == 'ok':
        out.append('to keep the new max and resize the hash table later, in a quiet window: %s' % cmds['persist'])
    where = result.get('breakdown_of') or 'this network namespace'
    for s in result.get('notrack_suggestions') or []:
        out.append('NOTRACK would remove %d%% of the entries of %s: %s %s port %d (%s)' % (
            int(round(100 * s['share'])), where, s['exemption']['direction'], s['exemption']['protocol'],
            s['exemption']['port'], s['why']))
    if cmds.get('notrack'):
        out.append('never applied by relieve; after reading docs/notrack.md: %s' % cmds['notrack'])
    elif result.get('notrack_suggestions'):
        out.append('never applied by relieve: NOTRACK rules are per network namespace - add them to the rules of %s '
                   '(the tune playbook run against it, with conntrack_notrack; docs/notrack.md)' % where)
    return out
