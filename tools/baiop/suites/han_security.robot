*** Settings ***
Documentation     HAN security as a sniffer holding only the devices' install codes sees it
...               (docs/bap/han.md SEC): key transport, unique link keys, NWK security,
...               the well-known key, a replayed frame and the tamper events.
Library           tools.baiop.P1Library
Library           tools.baiop.HanLibrary
Suite Setup       Open Han    ${HAN}    ${HAN_KEYS}
Suite Teardown    Keep Han Logs

*** Test Cases ***
Capture_Decodes_Cleanly
    Skip Unless Han
    Every Frame Should Decode Cleanly

Transport_Key_Under_Install_Code
    Skip Unless Han
    Network Keys Should Go Under Install Codes

Unique_Tc_Link_Keys
    Skip Unless Han
    Tc Link Keys Should Be Unique And Verified

Nwk_Level_5
    Skip Unless Han
    Nwk Security Should Be Level 5

Default_Key_Refused
    Skip Unless Han
    Well Known Key Should Open Nothing

Aps_Security_Of_Answers
    Skip Unless Han
    Zcl Should Be Nwk Secured

Counters_Across_Power_Cut
    Skip Unless Han
    Frame Counters Should Never Be Reused
    Skip Unless Han    live
    Power Cut Of The Hub If None Yet
    Hub Should Send After Its Power Cut
    Counters Should Resume Above The Cut

Replay_Refused
    Skip Unless Han    live
    Device Should Have Joined    gas
    Replay A Frame Of    gas
    Tamper Event Should Be Logged    2    gas

Unsecured_Commands_Ignored
    Skip Unless Han    live
    Device Should Have Joined    gas
    Send Unsecured Frames As    gas
    Hub Should Have Ignored Them    gas

Tamper_Events
    Skip Unless Han    live
    ${ext}=    Device Ext    unregistered
    Wait Until Console Shows    han tamper kind 5 source ${ext}    90
    Tamper Event Should Be Logged    5    unregistered
