# sshd.sh: a private OpenSSH server on a free loopback port, for tests.
# Source it, then call sshd_start DIR: it writes a host key, a user key,
# authorized_keys, known_hosts and sshd_config under DIR, checks the config
# with sshd -t, starts /usr/sbin/sshd and waits until it answers.  Sets
# SSHD_PORT, SSHD_KEY (the user's private key), SSHD_KNOWN_HOSTS, SSHD_DIR.
# sshd_stop stops it; sshd_start_again restarts it on the same port.
# SSHD_LISTEN (default 127.0.0.1) is the address to listen on and
# SSHD_NETNS, when set, the network namespace to run it in.  SSHD_EXTRA,
# when set, is appended to sshd_config (a Match block, say).
# SSHD_LOGLEVEL (default ERROR) is its LogLevel: INFO logs each login.
# SSHD_SFTP (default internal-sftp) is its sftp subsystem's command:
# "/usr/lib/openssh/sftp-server -e -l VERBOSE 2>>LOG" logs each open and
# readlink to LOG.

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sshd_start() {
	SSHD_DIR=$1
	mkdir -p "$SSHD_DIR"
	[ -f "$SSHD_DIR/host_ed25519" ] ||
		ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/host_ed25519" || return 1
	[ -f "$SSHD_DIR/id_ed25519" ] ||
		ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/id_ed25519" || return 1
	cp "$SSHD_DIR/id_ed25519.pub" "$SSHD_DIR/authorized_keys"
	chmod 600 "$SSHD_DIR/authorized_keys"
	SSHD_PORT=${SSHD_PORT:-$(free_port)}
	listen=${SSHD_LISTEN:-127.0.0.1}
	cat > "$SSHD_DIR/sshd_config" <<EOC
Port $SSHD_PORT
ListenAddress $listen
HostKey $SSHD_DIR/host_ed25519
AuthorizedKeysFile $SSHD_DIR/authorized_keys
PidFile $SSHD_DIR/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
Subsystem sftp ${SSHD_SFTP:-internal-sftp}
MaxStartups 200:30:400
MaxSessions 200
LogLevel ${SSHD_LOGLEVEL:-ERROR}
EOC
	[ -n "${SSHD_EXTRA:-}" ] && printf '%s\n' "$SSHD_EXTRA" >> "$SSHD_DIR/sshd_config"
	printf '[%s]:%s %s\n' "$listen" "$SSHD_PORT" \
	    "$(cut -d' ' -f1,2 "$SSHD_DIR/host_ed25519.pub")" > "$SSHD_DIR/known_hosts"
	SSHD_KEY=$SSHD_DIR/id_ed25519
	SSHD_KNOWN_HOSTS=$SSHD_DIR/known_hosts
	[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
	/usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" || return 1
	sshd_start_again
}

sshd_start_again() {
	rm -f "$SSHD_DIR/sshd.pid"
	in_ns=""
	[ -n "${SSHD_NETNS:-}" ] && in_ns="ip netns exec $SSHD_NETNS"
	$in_ns /usr/sbin/sshd -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log" || return 1
	i=0
	while [ ! -s "$SSHD_DIR/sshd.pid" ] ||
	    ! $in_ns python3 -c "import socket,sys; socket.create_connection(('${SSHD_LISTEN:-127.0.0.1}', $SSHD_PORT), 1)" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "sshd did not start" >&2; return 1; }
		sleep 0.1
	done
}

sshd_stop() {
	[ -s "$SSHD_DIR/sshd.pid" ] && kill "$(cat "$SSHD_DIR/sshd.pid")" 2>/dev/null
	rm -f "$SSHD_DIR/sshd.pid"
	return 0
}
