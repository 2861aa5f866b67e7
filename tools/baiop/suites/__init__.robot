*** Settings ***
Documentation     BAIOP test cases of our BAP documents (docs/bap/h1.md, docs/bap/han.md),
...               run by `python -m tools.baiop run`. The target is started once for the
...               whole run and one capture is shared by the cases that only observe; the
...               BAP statements each case covers are added to its tags at run time.
Library           tools.baiop.P1Library
Suite Setup       Run Keywords    Open Target    ${TARGET}    ${PROFILE}    ${KEY}    ${PERIOD}    ${HAN}
...               AND    Capture Shared    ${CAPTURE_S}
Suite Teardown    Close Target
