# netns.sh: the shaped WAN that tests/wan.sh runs sluice on and
# bench/torrent.sh runs BitTorrent on, kept in one place so that the two
# never drift apart.  Three sites, each a network namespace joined to a
# core namespace's bridge by a veth pair; tc tbf shapes each site's
# uplink (its veth's egress) and downlink (the core side's egress).  The
# hosts of one site share its namespace and its address; their NICs are
# not shaped.  Source it with top (the project's directory) set.
#
# The WAN's shape:
#   WAN_SITES	the sites' numbers: site S is namespace PREFIXsS at NET.1S
#   WAN_HOSTS	the hosts, hSH being host H of site S; WAN_GENERATOR is h00
#   CAP_MBIT	every site's declared uplink and downlink (Mbit/s)
#   SHAPE_MBIT	what tc lets through in tests/wan.sh: twice CAP_MBIT, so
#		that only the planning keeps traffic within CAP_MBIT
#   WAN_NIC	every host's declared NIC
#   SIZE_MIB	the file's size (WAN_SIZE_MIB, default 192 MiB: large
#		enough for ten rounds, so that the first round's start and
#		the last round's end weigh little)
#   NET		the first three octets of the sites' addresses
#
# netns_usable PREFIX: prints why namespaces cannot be made here and
#   returns 1, or returns 0.
# netns_up PREFIX MBIT: makes the core namespace PREFIXc and the sites'
#   PREFIXs0.., shaped at MBIT; returns 1 when the core cannot be made.
# netns_down: deletes what netns_up made and stops the sampler; safe to
#   call twice, and before netns_up.
# netns_sample_start FILE: samples every shaped interface's transmitted
#   bytes every 20 ms into FILE (tests/lib/linkrate.py), from one process,
#   through /proc/PID/net/dev of a process held in each namespace.
# netns_sample_stop: stops the sampler and waits for it.
# netns_peaks FILE OUT: linkrate.py's peaks of FILE against CAP_MBIT over
#   1 s and 100 ms windows, into OUT.

WAN_SITES="0 1 2"
WAN_HOSTS="h00 h01 h10 h11 h20 h21"
WAN_GENERATOR=h00
CAP_MBIT=40
SHAPE_MBIT=$((2 * CAP_MBIT))
WAN_NIC=400Mbit
SIZE_MIB=${WAN_SIZE_MIB:-192}
NET=10.213.$(($$ % 250))
netns_prefix=""
netns_holders=""
netns_sampler=""

netns_usable() {
	[ "$(id -u)" = 0 ] || { echo "needs root for network namespaces"; return 1; }
	command -v ip >/dev/null 2>&1 || { echo "no ip(8)"; return 1; }
	command -v tc >/dev/null 2>&1 || { echo "no tc(8)"; return 1; }
	ip netns add "$1probe" 2>/dev/null ||
	    { echo "cannot create network namespaces here"; return 1; }
	ip netns del "$1probe"
}

netns_up() {
	netns_prefix=$1
	ip netns add "$1c" || return 1
	ip -n "$1c" link set lo up
	ip -n "$1c" link add br0 type bridge
	ip -n "$1c" link set br0 up
	for netns_s in $WAN_SITES; do
		ip netns add "$1s$netns_s"
		ip -n "$1s$netns_s" link set lo up
		ip link add "$1a$netns_s" type veth peer name "$1b$netns_s"
		ip link set "$1a$netns_s" netns "$1s$netns_s"
		ip link set "$1b$netns_s" netns "$1c"
		ip -n "$1s$netns_s" link set "$1a$netns_s" name up0
		ip -n "$1s$netns_s" addr add "$NET.1$netns_s/24" dev up0
		ip -n "$1s$netns_s" link set up0 up
		ip -n "$1c" link set "$1b$netns_s" name "down$netns_s"
		ip -n "$1c" link set "down$netns_s" master br0
		ip -n "$1c" link set "down$netns_s" up
		ip netns exec "$1s$netns_s" tc qdisc add dev up0 root tbf rate "$2mbit" burst 64kb latency 200ms
		ip netns exec "$1c" tc qdisc add dev "down$netns_s" root tbf rate "$2mbit" burst 64kb latency 200ms
	done
}

netns_down() {
	netns_sample_stop
	[ -n "$netns_holders" ] && kill $netns_holders 2>/dev/null
	netns_holders=""
	[ -n "$netns_prefix" ] || return 0
	for netns_n in c $(for netns_s in $WAN_SITES; do echo "s$netns_s"; done); do
		ip netns del "$netns_prefix$netns_n" 2>/dev/null
	done
	netns_prefix=""
	return 0
}

netns_sample_start() {
	netns_specs=""
	for netns_n in c $(for netns_s in $WAN_SITES; do echo "s$netns_s"; done); do
		ip netns exec "$netns_prefix$netns_n" sleep 100000 &
		netns_holders="$netns_holders $!"
		eval "netns_pid_$netns_n=$!"
	done
	for netns_s in $WAN_SITES; do
		eval "netns_specs=\"\$netns_specs site$netns_s:up=\$netns_pid_s$netns_s:up0 site$netns_s:down=\$netns_pid_c:down$netns_s\""
	done
	python3 "$top/tests/lib/linkrate.py" sample "$1" $netns_specs &
	netns_sampler=$!
}

netns_sample_stop() {
	[ -n "$netns_sampler" ] || return 0
	kill "$netns_sampler" 2>/dev/null
	wait "$netns_sampler" 2>/dev/null
	netns_sampler=""
}

netns_peaks() {
	python3 "$top/tests/lib/linkrate.py" peaks "$1" $((CAP_MBIT * 1000000 / 8)) 1 0.1 > "$2"
}
