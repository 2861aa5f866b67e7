*** Settings ***
Documentation     Data Request (DSMR 5.0.2 5.5, 5.7.1, 6.1): the meter sends while the reader
...               holds the line high; low, it sends nothing new; glitches change nothing.
Library           tools.baiop.P1Library
Test Setup        Skip Unless Target Can    data-request
Test Teardown     Restore Data Request

*** Test Cases ***
Silent_While_Low
    Set Data Request    0
    Capture P1    ${{ $PERIOD * 3 + 1 }}
    No Telegram Should Start Later Than    0.3

High_Again_Resumes
    Set Data Request    0
    Capture P1    ${{ $PERIOD + 1 }}
    Set Data Request    1
    Capture P1    ${{ $PERIOD * 2 + 1 }}
    A Telegram Should Start Within    ${{ $PERIOD + 0.5 }}
    Every Telegram Should Be Whole

First_Telegram_Within_One_Second
    Set Data Request    0
    Capture P1    ${{ $PERIOD + 1 }}
    ${since}=    Raise Data Request Now
    Capture P1    2.5
    A Telegram Should Start Within    1.3    ${since}

Low_Mid_Telegram_Completes
    Drop Data Request During A Telegram
    Every CRC Should Be Right
    No Telegram Should Start Later Than    0.3

Glitch_Mid_Telegram
    Drop Data Request During A Telegram    50
    Every Telegram Should Be Whole
    Every CRC Should Be Right
    Jitter Should Be Below    ${PERIOD}    ${JITTER}

Glitch_While_Idle
    Glitch Data Request Between Telegrams    50
    Every Telegram Should Be Whole
    Jitter Should Be Below    ${PERIOD}    ${JITTER}
