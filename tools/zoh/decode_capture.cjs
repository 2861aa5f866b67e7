// zigbee-on-host's own decoders (MAC, NWK, APS, and its CCM* decryption) over every frame
// of a capture, to show that an independent stack reads our frames (issue 11, "A foreign
// trust centre"; used by tests/host/test_han_zoh.py):
//
//   node decode_capture.cjs CAPTURE.pcap --network-key HEX [--network-key HEX ...]
//                                        --link-key HEX [--link-key HEX ...]
//
// CAPTURE: a pcap of LINKTYPE 195 (802.15.4 with FCS), as han.pcap.PcapWriter writes.
// --network-key: a network key, tried for NWK frames whose key sequence number is not yet
// known; --link-key: a preconfigured link key (e.g. an install code's, AES-MMO hashed),
// tried for APS-secured frames. Keys carried by Transport Key commands that open are
// learned on the way, as a sniffer does: a network key under its sequence number, a
// trust-centre link key for its device.
//
// Output: one JSON object a line per frame, {n, mac, nwk?, aps?, learned?, error?}, then
// {"summary": {...}}. A frame is rejected when a zigbee-on-host function throws on it or
// no key opens it; error says at which layer and why. Only zigbee-on-host decodes: this
// script picks the keys and reads the command identifiers of decrypted payloads.
"use strict";
const fs = require("node:fs");
const mac = require("zigbee-on-host/dist/zigbee/mac.js");
const nwk = require("zigbee-on-host/dist/zigbee/zigbee-nwk.js");
const aps = require("zigbee-on-host/dist/zigbee/zigbee-aps.js");
const zigbee = require("zigbee-on-host/dist/zigbee/zigbee.js");

const LINKTYPE_IEEE802_15_4_WITHFCS = 195;
const hex = (b) => Buffer.from(b).toString("hex");
const ext = (v) => (v === undefined ? null : v.toString(16).padStart(16, "0"));

function usage(msg) {
    process.stderr.write(`decode_capture: ${msg}\nusage: node decode_capture.cjs CAPTURE.pcap --network-key HEX ... --link-key HEX ...\n`);
    process.exit(2);
}

function parseArgs(argv) {
    const a = { file: null, networkKeys: [], linkKeys: [] };
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        if (k === "--network-key" || k === "--link-key") {
            const v = argv[++i];
            if (!v || !/^[0-9a-fA-F]{32}$/.test(v)) usage(`${k} needs 32 hex digits`);
            (k === "--network-key" ? a.networkKeys : a.linkKeys).push(Buffer.from(v, "hex"));
        } else if (!a.file) {
            a.file = k;
        } else {
            usage(`unexpected argument ${k}`);
        }
    }
    if (!a.file) usage("no capture");
    return a;
}

// pcap (microsecond or nanosecond, either byte order): the frames of a LINKTYPE 195 file.
function readPcap(path) {
    const d = fs.readFileSync(path);
    const magic = d.readUInt32LE(0);
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    if (!le && d.readUInt32BE(0) !== 0xa1b2c3d4 && d.readUInt32BE(0) !== 0xa1b23c4d) {
        throw new Error("not a pcap file");
    }
    const u32 = (o) => (le ? d.readUInt32LE(o) : d.readUInt32BE(o));
    const linktype = u32(20);
    if (linktype !== LINKTYPE_IEEE802_15_4_WITHFCS) throw new Error(`link type ${linktype}, want 195`);
    const frames = [];
    for (let p = 24; p + 16 <= d.length; ) {
        const incl = u32(p + 8);
        frames.push(d.subarray(p + 16, p + 16 + incl));
        p += 16 + incl;
    }
    return frames;
}

// 802.15.4 FCS (CRC-16/KERMIT, 7.2.10): checked here, zigbee-on-host only reads it.
function fcsOk(f) {
    let crc = 0;
    for (let i = 0; i < f.length - 2; i++) {
        crc ^= f[i];
        for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
    }
    return f.length >= 2 && crc === f.readUInt16LE(f.length - 2);
}

const args = parseArgs(process.argv.slice(2));
// Network keys by sequence number once learned; the given ones are tried for any number.
const nwkBySeq = new Map();
const linkKeys = args.linkKeys.map((key, i) => ({ key, label: `link key ${i}` }));
const tclkByExt = new Map(); // device extended address (hex) -> learned TC link key
const short2ext = new Map(); // NWK short address -> extended address, from frames seen

function tryKeys(cands, fn) {
    const why = [];
    for (const c of cands) {
        try {
            return [fn(c.key), c.label, null];
        } catch (e) {
            why.push(`${c.label}: ${e.message}`);
        }
    }
    return [undefined, null, why.length ? why.join("; ") : "no key to try"];
}

function nwkCandidates(seq) {
    const out = [];
    if (nwkBySeq.has(seq)) out.push({ key: nwkBySeq.get(seq), label: `network key seq ${seq}` });
    args.networkKeys.forEach((key, i) => out.push({ key, label: `network key ${i}` }));
    return out;
}

function apsCandidates(src64, dst64) {
    const out = [];
    for (const e of [src64, dst64]) {
        if (e !== undefined && tclkByExt.has(ext(e))) out.push({ key: tclkByExt.get(ext(e)), label: `tc link key ${ext(e)}` });
    }
    return out.concat(linkKeys);
}

// A decrypted APS command: learn the key of a Transport Key (4.4.11.1).
function learn(payload) {
    if (payload.length < 18 || payload[0] !== 0x05) return null;
    const type = payload[1];
    const key = Buffer.from(payload.subarray(2, 18));
    if ((type === 0x01 || type === 0x05) && payload.length >= 35) {
        nwkBySeq.set(payload[18], key);
        return `network key seq ${payload[18]}`;
    }
    if (type === 0x04 && payload.length >= 34) {
        const dev = ext(payload.readBigUInt64LE(18));
        tclkByExt.set(dev, key);
        return `tc link key ${dev}`;
    }
    return null;
}

function decodeFrame(n, f) {
    const r = { n, fcsOk: fcsOk(f) };
    let layer = "mac";
    try {
        const [fcf, o1] = mac.decodeMACFrameControl(f, 0);
        const [mh, o2] = mac.decodeMACHeader(f, o1, fcf);
        const payload = mac.decodeMACPayload(f, o2, fcf, mh);
        r.mac = { type: fcf.frameType, version: fcf.frameVersion, seq: mh.sequenceNumber ?? null, dstPan: mh.destinationPANId ?? null, dst16: mh.destination16 ?? null, dst64: ext(mh.destination64), src16: mh.source16 ?? null, src64: ext(mh.source64) };
        if (fcf.frameType === 0) {
            const b = mac.decodeMACZigbeeBeacon(payload, 0);
            r.mac.beacon = { profile: b.profile, version: b.version, extPanId: ext(b.extendedPANId), endDeviceCapacity: b.endDeviceCapacity };
        } else if (fcf.frameType === 3) {
            r.mac.cmd = mh.commandId;
        }
        if (fcf.frameType !== 1) return r;
        layer = "nwk";
        const [nfcf, n1] = nwk.decodeZigbeeNWKFrameControl(payload, 0);
        const [nh, n2] = nwk.decodeZigbeeNWKHeader(payload, n1, nfcf);
        r.nwk = { type: nfcf.frameType, secured: nfcf.security, decrypted: false, src16: nh.source16 ?? null, dst16: nh.destination16 ?? null, src64: ext(nh.source64), dst64: ext(nh.destination64), radius: nh.radius, seq: nh.seqNum };
        if (nh.source64 !== undefined && nh.source16 !== undefined) short2ext.set(nh.source16, nh.source64);
        if (nh.destination64 !== undefined && nh.destination16 !== undefined) short2ext.set(nh.destination16, nh.destination64);
        const src64 = nh.source64 ?? short2ext.get(nh.source16);
        let np = payload.subarray(n2);
        if (nfcf.security) {
            const [sh] = zigbee.decodeZigbeeSecurityHeader(payload, n2, src64);
            r.nwk.keySeq = sh.keySeqNum ?? null;
            r.nwk.frameCounter = sh.frameCounter;
            // The nonce's source address is the sender's (the auxiliary header carries it).
            if (sh.source64 !== undefined && nh.source16 !== undefined) short2ext.set(nh.source16, sh.source64);
            // Each key on a copy: a failed attempt must not leave a trace in the frame.
            const [p, label, why] = tryKeys(nwkCandidates(sh.keySeqNum), (key) => nwk.decodeZigbeeNWKPayload(Buffer.from(payload), n2, key, src64, nfcf, nh));
            if (p === undefined) throw new Error(`not decrypted (${why})`);
            np = p;
            r.nwk.decrypted = true;
            r.nwk.key = label;
        }
        if (nfcf.frameType === 1) {
            r.nwk.cmd = np[0];
            return r;
        }
        if (nfcf.frameType !== 0) return r;
        layer = "aps";
        const [afcf, a1] = aps.decodeZigbeeAPSFrameControl(np, 0);
        const [ah, a2] = aps.decodeZigbeeAPSHeader(np, a1, afcf);
        r.aps = { type: afcf.frameType, delivery: afcf.deliveryMode, secured: afcf.security, decrypted: false, ackRequest: afcf.ackRequest, counter: ah.counter, profile: ah.profileId ?? null, cluster: ah.clusterId ?? null, srcEp: ah.sourceEndpoint ?? null, dstEp: ah.destEndpoint ?? null };
        let ap;
        if (afcf.security) {
            const [sh] = zigbee.decodeZigbeeSecurityHeader(np, a2, src64);
            r.aps.keyId = sh.control.keyId;
            r.aps.frameCounter = sh.frameCounter;
            const dst64 = nh.destination64 ?? short2ext.get(nh.destination16);
            const [p, label, why] = tryKeys(apsCandidates(sh.source64 ?? src64, dst64), (key) => aps.decodeZigbeeAPSPayload(Buffer.from(np), a2, key, src64, afcf, ah));
            if (p === undefined) throw new Error(`not decrypted (${why})`);
            ap = p;
            r.aps.decrypted = true;
            r.aps.key = label;
        } else {
            ap = aps.decodeZigbeeAPSPayload(np, a2, undefined, src64, afcf, ah);
        }
        r.aps.payload = hex(ap);
        if (afcf.frameType === 1 && ap.length > 0) {
            r.aps.cmd = ap[0];
            const learned = learn(ap);
            if (learned) r.learned = learned;
        }
    } catch (e) {
        r.error = { layer, message: String(e?.message ?? e) };
    }
    return r;
}

let frames;
try {
    frames = readPcap(args.file);
} catch (e) {
    usage(`${args.file}: ${e.message}`);
}
const summary = { frames: 0, badFcs: 0, rejected: 0, nwkSecured: 0, nwkDecrypted: 0, apsSecured: 0, apsDecrypted: 0, learned: [] };
frames.forEach((f, i) => {
    const r = decodeFrame(i + 1, f);
    summary.frames++;
    if (!r.fcsOk) summary.badFcs++;
    if (r.error) summary.rejected++;
    if (r.nwk?.secured) summary.nwkSecured++;
    if (r.nwk?.decrypted) summary.nwkDecrypted++;
    if (r.aps?.secured) summary.apsSecured++;
    if (r.aps?.decrypted) summary.apsDecrypted++;
    if (r.learned) summary.learned.push(r.learned);
    process.stdout.write(`${JSON.stringify(r)}\n`);
});
process.stdout.write(`${JSON.stringify({ summary })}\n`);
