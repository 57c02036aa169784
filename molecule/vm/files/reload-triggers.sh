#!/bin/sh
# molecule/vm: which actions load nf_conntrack again once it is unloaded (docs/disable.md,
# "What loads it again"). For each action: unload nf_conntrack and every module holding it,
# run the action, see whether /sys/module/nf_conntrack is back, undo the action. Prints JSON
# {action: "loaded" | "not loaded"}. Leaves nf_conntrack unloaded.
unload() {
    for h in /sys/module/"$1"/holders/*; do
        [ -e "$h" ] && unload "$(basename "$h")"
    done
    [ -d /sys/module/"$1" ] && { modprobe -r "$1" 2>/dev/null || rmmod "$1"; }
    return 0
}
try() {
    label=$1 action=$2 undo=$3
    unload nf_conntrack
    if [ -d /sys/module/nf_conntrack ]; then
        state="could not unload"
    else
        sh -c "$action" >/dev/null 2>&1
        if [ -d /sys/module/nf_conntrack ]; then state=loaded; else state="not loaded"; fi
        sh -c "$undo" >/dev/null 2>&1
    fi
    printf '%s"%s": "%s"' "$sep" "$label" "$state"
    sep=', '
}
sep=''
printf '{'
# try LABEL ACTION UNDO (the label is the JSON key and the line in docs/disable.md)
try 'iptables -L' 'iptables -L' 'true'
try 'nft list ruleset' 'nft list ruleset' 'true'
try 'iptables -A INPUT -p tcp --dport 2222 -j ACCEPT' 'iptables -A INPUT -p tcp --dport 2222 -j ACCEPT' \
    'iptables -D INPUT -p tcp --dport 2222 -j ACCEPT'
try 'iptables -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT' \
    'iptables -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT' \
    'iptables -D INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT'
try 'nft add rule inet t c ct state established accept' \
    "nft add table inet t; nft add chain inet t c '{ type filter hook output priority 0; }'; nft add rule inet t c ct state established accept" \
    'nft delete table inet t'
try 'conntrack -L' 'conntrack -L' 'true'
try 'iptables-legacy -t nat -L' 'iptables-legacy -t nat -L' 'iptables-legacy -t nat -F; modprobe -r iptable_nat'
printf '}\n'
unload nf_conntrack
