#pragma once

// Troupe's networking: nodes on CAF's middleman, published mailboxes and topics, remote handles,
// the gate and TLS. Link troupe::distribution (it brings libcaf_io, libcaf_openssl and
// libcrypto); <troupe/troupe.hpp> and troupe::troupe are everything else.
//
//   #include <troupe/troupe.hpp>
//   #include <troupe/distribution.hpp>
//
//   troupe::network_setup net;
//   troupe::runtime rt{troupe::runtime_config{}, net.customizer()};
//   auto node = troupe::node::start(rt, net).value();

#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/distribution/network_options.hpp"
#include "troupe/distribution/node.hpp"
#include "troupe/distribution/node_event_kinds.hpp"
#include "troupe/distribution/remote_mailbox.hpp"
#include "troupe/distribution/remote_topic.hpp"
