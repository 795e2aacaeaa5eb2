# ike-windows.awk: MN's mipd events + iked events -> one HANDOVER_IKE line
# per handover record: the IKE datagrams (sent + received) and octets of
# the key manager between that record's set_coa and the next one's (the
# agent's HANDOVER RECORD definition), from iked's cumulative IKE_COUNTS
# lines.  usage: awk -f ike-windows.awk mn.events mn-iked.events
function kv(line, key,    n, i, a, b) {
  n = split(line, a, " ")
  for (i = 1; i <= n; i++) {
    split(a[i], b, "=")
    if (b[1] == key) return substr(a[i], length(key) + 2)
  }
  return ""
}
FNR == NR && $2 == "HANDOVER" {
  i = kv($0, "index") + 0
  cs = kv($0, "coa_set")
  if (cs != "-" && cs != "") start[i] = cs + 0
  if (i > maxi) maxi = i
  next
}
FNR != NR && $2 == "IKE_COUNTS" {
  n++
  t[n] = $1 + 0
  for (k = 1; k <= 6; k++) {
    split("msgs bytes ike_sa_init ike_auth create_child_sa informational", names, " ")
    c[n, names[k]] = kv($0, names[k]) + 0
  }
}
# cumulative count of field f at time x (last IKE_COUNTS line before x)
function at(x, f,    j, v) {
  v = 0
  for (j = 1; j <= n; j++) {
    if (t[j] < x) v = c[j, f]; else break
  }
  return v
}
END {
  split("msgs bytes ike_sa_init ike_auth create_child_sa informational", names, " ")
  for (i = 0; i <= maxi; i++) {
    if (!(i in start)) continue
    e = ((i + 1) in start) ? start[i + 1] : 1e18
    line = sprintf("%.9f HANDOVER_IKE index=%d", start[i], i)
    for (k = 1; k <= 6; k++) {
      f = names[k]
      line = line sprintf(" %s=%d", (f == "msgs" ? "ike_msgs" : f == "bytes" ? "ike_bytes" : f), at(e, f) - at(start[i], f))
    }
    print line
  }
}
