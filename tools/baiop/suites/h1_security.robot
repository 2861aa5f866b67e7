*** Settings ***
Documentation     Encrypted profiles (Luxembourg Smarty 1.1.3 3.2.5): AES-128-GCM frames
...               whose counter never repeats, across a reboot too; no key on the port.
Library           tools.baiop.P1Library

*** Test Cases ***
Frames_Only
    Skip If    not ${ENCRYPTED}    the profile sends plaintext
    Use Shared Capture
    Frames Should Be The Only Thing Sent

Frame_Layout
    Skip If    not ${ENCRYPTED}    the profile sends plaintext
    Use Shared Capture
    Every Frame Should Have The Smarty Layout

Decrypt_With_Key
    Skip If    not ${ENCRYPTED}    the profile sends plaintext
    Use Shared Capture
    Every Frame Should Open With The Key
    Every CRC Should Be Right

Wrong_Key_Rejected
    Skip If    not ${ENCRYPTED}    the profile sends plaintext
    Use Shared Capture
    No Frame Should Open With    000102030405060708090A0B0C0D0E0F

Tampered_Frame_Rejected
    Skip If    not ${ENCRYPTED}    the profile sends plaintext
    Use Shared Capture
    No Altered Frame Should Open

System_Title_Constant
    Skip If    not ${ENCRYPTED}    the profile sends plaintext
    Use Shared Capture
    The System Title Should Be    ${SYSTEM_TITLE}

Frame_Counter_Increments
    Skip If    not ${ENCRYPTED}    the profile sends plaintext
    Use Shared Capture
    Frame Counters Should Step By One

Frame_Counter_Across_Reboot
    Skip If    not ${ENCRYPTED}    the profile sends plaintext
    Skip Unless Target Can    reboot
    Capture P1    ${{ $PERIOD * 2 + 1 }}
    ${last}=    Frame Counters Should Step By One
    Reboot Target
    Capture P1    ${{ $PERIOD * 2 + 1 }}
    First Frame Counter Should Be Within    ${last}    16

No_Key_On_Port
    Use Shared Capture
    No Key Should Appear On The Port    @{KEYS}
