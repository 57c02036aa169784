# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    """The prometheus_* options of the modules that read a host's history from Prometheus on the
    controller with history_source: prometheus (conntrack_recommend, conntrack_audit): one
    query_range request per host (history/prometheus.py)."""

    DOCUMENTATION = r'''
options:
  prometheus_url:
    description:
      - The Prometheus server's base URL, C(http(s)://host:9090), or with its path prefix; C(/api/v1/query_range) is
        added. Required with O(history_source=prometheus). Credentials in it are never echoed.
    type: str
    version_added: 0.3.0
  prometheus_instance:
    description:
      - The value of O(prometheus_label) for this host. Defaults to the inventory hostname.
    type: str
    version_added: 0.3.0
  prometheus_label:
    description:
      - The label that names the host (C(nodename), C(host), ... where relabelling set one).
    type: str
    default: instance
    version_added: 0.3.0
  prometheus_match:
    description:
      - V(port) - O(prometheus_instance) with or without a C(:port) (C(web1) matches C(web1:9100)); V(exact); V(regex) -
        O(prometheus_instance) is a regular expression (RE2).
    type: str
    choices: [port, exact, regex]
    default: port
    version_added: 0.3.0
  prometheus_matchers:
    description:
      - More label matchers, without braces, such as C(job="node") (two exporters or two jobs on one host).
    type: str
    version_added: 0.3.0
  prometheus_metrics:
    description:
      - V(node_exporter) - C(node_nf_conntrack_entries), C(_entries_limit), C(_stat_drop), C(_stat_early_drop),
        C(_stat_insert_failed), C(_stat_insert); V(nfct) - the metrics writer's C(nfct_conntrack_*) names.
    type: str
    choices: [node_exporter, nfct]
    default: node_exporter
    version_added: 0.3.0
  prometheus_days:
    description:
      - How far back, 1 to 400 days.
    type: int
    default: 30
    version_added: 0.3.0
  prometheus_step:
    description:
      - Seconds between points, dividing a day (60, 300, 600 ... 86400), at most 11,000 points over O(prometheus_days).
        Not set - the smallest such step (docs/history.md, "Step and range").
    type: int
    version_added: 0.3.0
  prometheus_timeout:
    description:
      - Seconds to wait for the answer.
    type: int
    default: 30
    version_added: 0.3.0
  prometheus_max_bytes:
    description:
      - The largest answer read (after gzip); a larger one is an error (the fallback to static).
    type: int
    default: 8388608
    version_added: 0.3.0
  prometheus_username:
    description:
      - HTTP basic authentication.
    type: str
    version_added: 0.3.0
  prometheus_password:
    description:
      - HTTP basic authentication, with O(prometheus_username).
    type: str
    version_added: 0.3.0
  prometheus_bearer_token:
    description:
      - Sent in the C(Authorization) header as a bearer token; not with O(prometheus_username).
    type: str
    version_added: 0.3.0
  prometheus_headers:
    description:
      - More request headers, such as C(X-Scope-OrgID) for Mimir or Cortex.
    type: dict
    version_added: 0.3.0
  prometheus_validate_certs:
    description:
      - Check the server's certificate.
    type: bool
    default: true
    version_added: 0.3.0
  prometheus_ca_path:
    description:
      - The CA (PEM) that signed the server's certificate; the system's CAs when not set.
    type: path
    version_added: 0.3.0
  prometheus_client_cert:
    description:
      - A client certificate (PEM), where the server asks for one.
    type: path
    version_added: 0.3.0
  prometheus_client_key:
    description:
      - The key of O(prometheus_client_cert), when it is not in the same file.
    type: path
    version_added: 0.3.0
'''
