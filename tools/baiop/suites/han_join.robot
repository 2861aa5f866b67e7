*** Settings ***
Documentation     Forming the PAN and joining it (docs/bap/han.md FUN, COM, ACC): the hub's
...               beacons and associations as a sniffer captures them, the lab's devices
...               registered with their install codes, with a wrong code, or not at all.
Library           tools.baiop.P1Library
Library           tools.baiop.HanLibrary
Suite Setup       Open Han    ${HAN}    ${HAN_KEYS}
Suite Teardown    Keep Han Logs

*** Test Cases ***
Channel_And_Pan
    Skip Unless Han
    Pan Should Be Stated

Beacon_Payload
    Skip Unless Han
    Beacons Should Carry The Zigbee Payload

Association_Indirect
    Skip Unless Han
    Associations Should Be Indirect

Join_Registered_Device
    Skip Unless Han    live
    Device Should Have Joined    gas
    Device Should Have Joined    display

Wrong_Install_Code_Fails
    Skip Unless Han    live
    ${ext}=    Device Ext    wrong-code
    Wait Until Console Shows    han associated ${ext} short    60
    Run Han For    10
    Nothing Should Be Secured By    ${ext}

Unregistered_Device_Refused
    Skip Unless Han    live
    ${ext}=    Device Ext    unregistered
    Wait Until Console Shows    han tamper kind 5 source ${ext}    90
    Association Status Should Be    ${ext}    0x02

Hub_Status_Lists_Devices
    Skip Unless Han    live
    Device Should Have Joined    display
    Hub Status Should List    gas    display
    Console Should Show No Key    ${HAN_NETWORK_KEY}

Resume_After_Hub_Power_Cut
    Skip Unless Han    live
    Power Cut Of The Hub If None Yet
    Hub Should Have Resumed Its Network

Device_Rejoins_After_Hub_Outage
    Skip Unless Han    live
    Power Cut Of The Hub If None Yet
    Devices Should Rejoin After The Outage    gas

Indirect_To_Sleepy_Device
    Skip Unless Han    live
    Frames To A Sleepy Device Should Follow Its Polls    gas

Install_Code_Lengths
    Skip Unless Han    live
    Install Codes Of Every Length Should Register

Permit_Joining_Refused
    Skip Unless Han    live
    Registration Signed With Another Key Should Be Refused

Table_Full_Refused
    Skip Unless Han    live
    Registrations Should Stop At The Table Size

Remove_Device
    Skip Unless Han    live
    Remove Device    display
