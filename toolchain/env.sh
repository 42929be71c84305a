#!/usr/bin/env bash
# Environment for the cached toolchain built by toolchain/build.sh.
#   source toolchain/env.sh          # exports into the current bash/zsh shell
#   eval "$(toolchain/env.sh)"       # same, from any POSIX shell
# Sets PATH (cache bin dir first), PULUMI_HOME (the cache's plugin home),
# PULUMI_SKIP_UPDATE_CHECK=true and PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true, and
# exports TOOLCHAIN_BIN / TOOLCHAIN_HOME. When the cache has no `pulumi` (build.sh run with
# TOOLCHAIN_SKIP=pulumi), a `pulumi` already on PATH is used; it is only accepted if it is
# the pinned version.
_tc_main() {
	# shellcheck source=lib.sh
	. "$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)/lib.sh" || return 1
	if [ ! -d "$TOOLCHAIN_BIN" ]; then
		echo "env.sh: $TOOLCHAIN_BIN does not exist; run toolchain/build.sh first" >&2
		return 1
	fi
	if [ ! -x "$TOOLCHAIN_BIN/pulumi" ]; then
		local have
		have=$(PULUMI_SKIP_UPDATE_CHECK=true pulumi version 2>/dev/null || true)
		if [ "$have" != "$PULUMI_VERSION" ]; then
			echo "env.sh: no pulumi $PULUMI_VERSION in $TOOLCHAIN_BIN or on PATH (found: ${have:-none})" >&2
		fi
	fi
	_tc_lines=$(printf 'export PATH=%q\nexport PULUMI_HOME=%q\nexport PULUMI_SKIP_UPDATE_CHECK=true\nexport PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true\nexport TOOLCHAIN_HOME=%q\nexport TOOLCHAIN_BIN=%q\n' \
		"$TOOLCHAIN_BIN:$PATH" "$TOOLCHAIN_PULUMI_HOME" "$TOOLCHAIN_HOME" "$TOOLCHAIN_BIN")
}

if (return 0 2>/dev/null); then
	# sourced
	if _tc_main; then eval "$_tc_lines"; fi
	unset _tc_lines
	unset -f _tc_main toolchain_key
else
	_tc_main || exit 1
	printf '%s\n' "$_tc_lines"
fi
