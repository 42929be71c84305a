"""A real single-node Kubernetes node inside a network namespace of its own.

The pieces, one module each:

* ``netns``      the node's network namespace and the commands that run inside it;
* ``forwarder``  loopback ports of the host that lead into the namespace (the only way in);
* ``pki``        the node's certificates (kubelet client/serving, front proxy) beside the cluster CA;
* ``runtime``    containerd + runc configuration, image import into containerd;
* ``kubelet``    kubelet and kube-proxy configuration;
* ``addons``     CoreDNS, Traefik (ingress) and kube-router (NetworkPolicy) for the node;
* ``oci``        single-layer image archives for the add-ons, built from the binaries;
* ``teardown``   what ``down`` removes: processes, mounts, cgroups, the namespace.

``toolchain.localcluster`` assembles them (``--mode node``, the default).
"""
