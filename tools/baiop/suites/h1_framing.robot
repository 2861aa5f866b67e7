*** Settings ***
Documentation     Framing on the P1 port (DSMR 5.0.2 P1 companion standard 6.2, 6.4),
...               checked on the run's shared capture.
Library           tools.baiop.P1Library
Suite Setup       Use Shared Capture

*** Test Cases ***
Telegram_Layout
    Telegram Count Should Be At Least    ${MIN_TELEGRAMS}
    Every Telegram Should Have The Layout

Header_Identification
    Every Identification Should Be    ${IDENTIFICATION}

Crc_Valid
    Every CRC Should Be Right

Crc_Corrupted_Detected
    A Corrupted Telegram Should Fail Its CRC

Line_Endings_Crlf
    Every Line Should End With CR LF

Line_Syntax
    Every Line Should Have The OBIS Syntax

No_Stray_Bytes
    Nothing Should Lie Between Telegrams

Max_Length
    No Telegram Should Be Longer Than    4600
    No Line Should Be Longer Than    ${LINE_MAX}

Serial_115200_8N1
    Skip Unless Target Can    line-settings
    Telegram Count Should Be At Least    1
    Every CRC Should Be Right
