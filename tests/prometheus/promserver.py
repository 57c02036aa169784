# -*- coding: utf-8 -*-
# Copyright: (c) 2026, nfct.tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Prometheus server of Debian's package on a copy of TSDB blocks, on 127.0.0.1 and a free port,
ended by its PID: used by tests/prometheus and by benchmarks/history_cost.py (no pytest here)."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import shutil
import socket
import subprocess
import time


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server(object):
    """binary (the prometheus program) serving a copy of `blocks` from `folder` (created);
    web_config: the text of a --web.config.file (TLS, basic auth), else plain HTTP."""

    def __init__(self, binary, blocks, folder, web_config=None):
        self.dir = str(folder)
        data = os.path.join(self.dir, 'data')
        shutil.copytree(str(blocks), data)
        config = os.path.join(self.dir, 'prometheus.yml')
        with open(config, 'w') as f:
            f.write('global:\n  scrape_interval: 1h\n')
        self.port = free_port()
        args = [binary, '--config.file=%s' % config, '--storage.tsdb.path=%s' % data,
                '--storage.tsdb.retention.time=400d', '--web.listen-address=127.0.0.1:%d' % self.port]
        if web_config:
            path = os.path.join(self.dir, 'web.yml')
            with open(path, 'w') as f:
                f.write(web_config)
            args.append('--web.config.file=%s' % path)
        self.log_path = os.path.join(self.dir, 'prometheus.log')
        self.log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = '%s://127.0.0.1:%d' % ('https' if web_config else 'http', self.port)

    def wait_ready(self, check, timeout=30):
        """check() until true; the server stopped and AssertionError with its log's end otherwise."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if check():
                    return self
            except Exception:  # not up yet
                pass
            time.sleep(0.2)
        self.stop()
        with open(self.log_path) as f:
            raise AssertionError('Prometheus not ready within %d s: %s' % (timeout, f.read()[-2000:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
