# summary.awk: mn.events (+ packets.csv) -> summary.csv, one row per
# handover (index >= 1).  Times in seconds from the experiment start t0;
# l2 = the wall-clock time the MN left its old link.  Every figure comes
# from an event the daemon logged or from the agent's handover record.
function rel(x) { return (x == "-" || x == "") ? "" : sprintf("%.4f", x - t0) }
function kv(line, key,    n, i, a, b) {
  n = split(line, a, " ")
  for (i = 1; i <= n; i++) {
    split(a[i], b, "=")
    if (b[1] == key) return substr(a[i], length(key) + 2)
  }
  return ""
}
BEGIN {
  print "scheme,host,rate_kbps,seed,handover,l2_s,movement_detected_s,coa_ready_s,bu_sent_s,ba_received_s,sa_ready_s,traffic_resumed_s,recovery_s,ike_msgs,ike_bytes"
}
($2 == "ROUTE_RA" || $2 == "ADDR_NEW") && $1 > l2 && md == "" { md = $1 }
$2 == "COA_READY" && $1 > l2 && cr == "" { cr = $1 }
$2 == "HANDOVER" { idx = kv($0, "index"); rec[idx] = $0; if (idx + 0 > maxi) maxi = idx + 0 }
# A record the core started at HA_LOST (a new registration from the same
# CoA, coa_set = the event's time) is not a handover: no row.
$2 == "HA_LOST" { lost[$1] = 1 }
# three daemons: the key manager's IKE figures (run/ike-windows.awk)
$2 == "HANDOVER_IKE" { ikeidx = kv($0, "index"); ike[ikeidx] = $0 }
END {
  # The first payload packet received through the new path: the first
  # after the new CoA became usable (before it, nothing can come through
  # the new path; packets still in flight on the old one arrive just after
  # the L2 loss and do not count).  Without a new CoA, after the L2 loss.
  after = (cr != "") ? cr : l2
  resumed = ""
  while ((getline line < pk) > 0) {
    split(line, f, ",")
    if (f[1] ~ /^[0-9.]+$/ && f[1] + t0 > after) { resumed = f[1] + t0; break }
  }
  for (i = 1; i <= maxi; i++) {
    r = rec[i]
    if (r == "" || (kv(r, "coa_set") in lost)) continue
    rec_s = (resumed == "") ? "" : rel(resumed)
    recov = (resumed == "") ? "" : sprintf("%.4f", resumed - l2)
    printf "%s,emu,%s,%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", scheme, rate, seed, i,
      rel(l2), rel(md), rel(cr), rel(kv(r, "bu_sent")), rel(kv(r, "ba_received")),
      rel(kv(r, "sa_ready")), rec_s, recov,
      kv((i in ike) ? ike[i] : r, "ike_msgs"), kv((i in ike) ? ike[i] : r, "ike_bytes")
  }
}
