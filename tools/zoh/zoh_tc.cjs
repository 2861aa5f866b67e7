// zigbee-on-host (npm, pinned in package.json) as a foreign ZigBee coordinator and trust
// centre on our simulated 802.15.4 medium. Started by tools/han/zoh_tc.py:
//
//   node zoh_tc.cjs '<config JSON>'
//
// The Spinel/HDLC link to the fake radio co-processor (tools/han/zoh_rcp.py) is the unix
// socket inherited as file descriptor config.fd: it is handed to the driver as its
// transport (an EventEmitter with write() and "data" events, which net.Socket is).
// Control: one JSON object a line on stdin ({"op": ...}); events: one JSON object a line
// on stdout ({"ev": ...}); the driver's log goes to stderr.
"use strict";
const net = require("node:net");
const readline = require("node:readline");
const { OTRCPDriver } = require("zigbee-on-host");
const logger = require("zigbee-on-host/dist/utils/logger.js");
const zigbee = require("zigbee-on-host/dist/zigbee/zigbee.js");
const mac = require("zigbee-on-host/dist/zigbee/mac.js");
const nwk = require("zigbee-on-host/dist/zigbee/zigbee-nwk.js");
const aps = require("zigbee-on-host/dist/zigbee/zigbee-aps.js");
const { InstallCodePolicy } = require("zigbee-on-host/dist/zigbee-stack/stack-context.js");

const cfg = JSON.parse(process.argv[2]);
const hex = (b) => Buffer.from(b).toString("hex");
const big = (h) => BigInt(`0x${h}`);
const big2hex = (v) => (v === undefined ? null : v.toString(16).padStart(16, "0"));
// The well-known link key "ZigBeeAlliance09" (ZigBee 3.0 default trust-centre link key).
const WELL_KNOWN_TC_KEY = Buffer.from("5a6967426565416c6c69616e63653039", "hex");

function emit(obj) {
    process.stdout.write(
        `${JSON.stringify(obj, (k, v) => (typeof v === "bigint" ? big2hex(v) : v?.type === "Buffer" ? hex(v.data) : v))}\n`,
    );
}

const debug = !!cfg.debug;
logger.setLogger({
    debug: (m, ns) => {
        if (debug) process.stderr.write(`[zoh debug] ${ns}: ${m()}\n`);
    },
    info: (m, ns) => process.stderr.write(`[zoh info] ${ns}: ${typeof m === "function" ? m() : m}\n`),
    warning: (m, ns) => process.stderr.write(`[zoh warning] ${ns}: ${typeof m === "function" ? m() : m}\n`),
    error: (m, ns) => {
        process.stderr.write(`[zoh error] ${ns}: ${m}\n`);
        emit({ ev: "error", ns, message: String(m) });
    },
});

const codes = (cfg.installCodes || []).map((c) => ({ ext: big(c.ext), code: Buffer.from(c.code, "hex") }));
// zigbee-on-host 0.3.0 secures the Transport Key with the key-transport key of
// netParams.tcKey, never with a device's install-code key (see docs/han.md): with
// tcKeyFromInstallCode the trust centre's link key is the install-code key of the first
// registered device, derived by zigbee-on-host's own AES-MMO hash.
let tcKey = cfg.tcKey ? Buffer.from(cfg.tcKey, "hex") : WELL_KNOWN_TC_KEY;
if (cfg.tcKeyFromInstallCode && codes.length > 0) {
    tcKey = zigbee.aes128MmoHash(codes[0].code);
}
const netParams = {
    eui64: big(cfg.eui64),
    panId: cfg.panId,
    extendedPanId: big(cfg.extPanId),
    channel: cfg.channel,
    nwkUpdateId: 0,
    txPower: 0,
    networkKey: Buffer.from(cfg.networkKey, "hex"),
    networkKeyFrameCounter: 0,
    networkKeySequenceNumber: cfg.networkKeySeq ?? 0,
    tcKey,
    tcKeyFrameCounter: 0,
};
const streamRawConfig = {
    txChannel: cfg.channel,
    ccaBackoffAttempts: 4, // macMaxCSMABackoffs
    ccaRetries: 3, // macMaxFrameRetries
    enableCSMACA: true,
    headerUpdated: true,
    reTx: false,
    securityProcessed: true,
    txDelay: 0,
    txDelayBaseTime: 0,
    rxChannelAfterTxDone: cfg.channel,
};

const transport = new net.Socket({ fd: cfg.fd, readable: true, writable: true });
const driver = new OTRCPDriver(
    transport,
    {
        onFatalError: (message) => emit({ ev: "fatal", message }),
        onMACFrame: () => {},
        onFrame: (sender16, sender64, apsHeader, apsPayload, lqa) =>
            emit({
                ev: "frame",
                src16: sender16,
                src64: sender64,
                profile: apsHeader.profileId,
                cluster: apsHeader.clusterId,
                srcEp: apsHeader.sourceEndpoint,
                dstEp: apsHeader.destEndpoint,
                counter: apsHeader.counter,
                payload: hex(apsPayload),
                lqa,
            }),
        onGPFrame: () => {},
        onDeviceJoined: (nwk16, ieee, cap) => emit({ ev: "joined", nwk: nwk16, ieee, cap }),
        onDeviceRejoined: (nwk16, ieee, cap) => emit({ ev: "rejoined", nwk: nwk16, ieee, cap }),
        onDeviceLeft: (nwk16, ieee) => emit({ ev: "left", nwk: nwk16, ieee }),
        onDeviceAuthorized: (nwk16, ieee) => emit({ ev: "authorized", nwk: nwk16, ieee }),
    },
    streamRawConfig,
    netParams,
    cfg.saveDir,
);

function devices() {
    const out = [];
    for (const [ieee, d] of driver.context.deviceTable) {
        out.push({
            ieee,
            nwk: d.address16,
            authorized: d.authorized,
            rxOnWhenIdle: d.capabilities?.rxOnWhenIdle ?? null,
            keySeq: d.lastTransportedNetworkKeySeq ?? null,
        });
    }
    return out;
}

// MAC frame (with FCS) -> zigbee-on-host's own decoding of MAC, NWK and APS, decrypting
// with the keys it holds (network key, trust-centre link key and their hashes).
function decode(frameHex) {
    const data = Buffer.from(frameHex, "hex");
    const r = {};
    const [fcf, o1] = mac.decodeMACFrameControl(data, 0);
    const [mh, o2] = mac.decodeMACHeader(data, o1, fcf);
    r.mac = { type: fcf.frameType, seq: mh.sequenceNumber, dstPan: mh.destinationPANId, dst16: mh.destination16, src16: mh.source16, src64: mh.source64 };
    if (fcf.frameType !== 1) return r;
    const payload = mac.decodeMACPayload(data, o2, fcf, mh);
    // NWK decoding works on a buffer that starts at the NWK header (offset 0).
    const nwkBuf = Buffer.from(payload);
    const [nfcf, n1] = nwk.decodeZigbeeNWKFrameControl(nwkBuf, 0);
    const [nh, n2] = nwk.decodeZigbeeNWKHeader(nwkBuf, n1, nfcf);
    const src64 = nh.source64 ?? driver.context.address16ToAddress64.get(nh.source16);
    const np = nwk.decodeZigbeeNWKPayload(nwkBuf, n2, undefined, src64, nfcf, nh);
    r.nwk = { type: nfcf.frameType, secured: nfcf.security, dst16: nh.destination16, src16: nh.source16, radius: nh.radius, seq: nh.seqNum, frameCounter: nh.securityHeader?.frameCounter ?? null };
    if (nfcf.frameType !== 0) {
        r.nwk.payload = hex(np);
        return r;
    }
    const [afcf, a1] = aps.decodeZigbeeAPSFrameControl(np, 0);
    const [ah, a2] = aps.decodeZigbeeAPSHeader(np, a1, afcf);
    const ap = aps.decodeZigbeeAPSPayload(np, a2, undefined, src64, afcf, ah);
    r.aps = { type: afcf.frameType, secured: afcf.security, profile: ah.profileId, cluster: ah.clusterId, srcEp: ah.sourceEndpoint, dstEp: ah.destEndpoint, counter: ah.counter, payload: hex(ap) };
    return r;
}

async function command(msg) {
    switch (msg.op) {
        case "permit":
            driver.context.allowJoins(msg.seconds, true);
            return { ok: true };
        case "installCode":
            return { key: hex(driver.context.addInstallCode(big(msg.ext), Buffer.from(msg.code, "hex"))) };
        case "devices":
            return { devices: devices() };
        case "unicast": {
            const counter = await driver.sendUnicast(
                Buffer.from(msg.payload, "hex"),
                msg.profile,
                msg.cluster,
                msg.dst16,
                msg.dst64 ? big(msg.dst64) : undefined,
                msg.dstEp,
                msg.srcEp,
            );
            return { counter };
        }
        case "zdo": {
            const [apsCounter, zdoCounter] = await driver.sendZDO(Buffer.from(msg.payload, "hex"), msg.dst16, msg.dst64 ? big(msg.dst64) : undefined, msg.cluster);
            return { apsCounter, zdoCounter };
        }
        case "decode":
            return { decoded: decode(msg.frame) };
        case "stop":
            await driver.stop();
            emit({ ev: "stopped", id: msg.id });
            process.exit(0);
            return {};
        default:
            throw new Error(`unknown op ${msg.op}`);
    }
}

async function main() {
    await driver.resetNetwork(); // a fresh network every run: no state from a previous one
    driver.context.trustCenterPolicies.installCode = cfg.installCodePolicy === "required" ? InstallCodePolicy.REQUIRED : InstallCodePolicy.NOT_REQUIRED;
    await driver.start();
    const linkKeys = codes.map((c) => hex(driver.context.addInstallCode(c.ext, c.code)));
    await driver.formNetwork();
    if (cfg.permitSeconds) driver.context.allowJoins(cfg.permitSeconds, true);
    emit({
        ev: "ready",
        eui64: netParams.eui64,
        panId: netParams.panId,
        channel: netParams.channel,
        ncpVersion: driver.ncpVersion,
        protocol: `${driver.protocolVersionMajor}.${driver.protocolVersionMinor}`,
        rcpApi: driver.rcpAPIVersion,
        tcKey: hex(netParams.tcKey),
        linkKeys,
        associationPermit: driver.context.associationPermit,
    });
    const rl = readline.createInterface({ input: process.stdin });
    rl.on("line", (line) => {
        let msg;
        try {
            msg = JSON.parse(line);
        } catch {
            return;
        }
        command(msg).then(
            (res) => emit({ ev: "reply", id: msg.id, op: msg.op, ...res }),
            (err) => emit({ ev: "reply", id: msg.id, op: msg.op, error: String(err?.message ?? err) }),
        );
    });
    rl.on("close", () => process.exit(0));
}

main().catch((err) => {
    emit({ ev: "fatal", message: String(err?.stack ?? err) });
    process.exit(1);
});
